"""Mail through snigate with the drivers applications use: Node's nodemailer (SMTP) and imapflow
(IMAP), and JavaMail (Debian's libmail-java) for both. Each starts in plain text, requires
STARTTLS, sends the name it was given as SNI and verifies the certificate against it and the test
CA, as an application configured with that server name would. Two mail sites (harness/mail.py):

  entry point smtp (protocol smtp, mail.hostname gw.mail.test)
    smtp-a   a.mail.test     passthrough to site a's SMTP (the client sees a's own certificate)
    smtp-b   mx-b.mail.test  terminate with snigate's certificate, STARTTLS to site b
                             (servers[].tls, verified as b.mail.test)
  entry point imap (protocol imap, mail.hostname gw.mail.test): the same two routes to the sites'
    Dovecot
  entry points smtplogin and imaplogin: a.mail.test and b.mail.test terminated (b re-encrypted),
    for drivers configured with an address (no SNI), routed by the domain of their login

A message sent through snigate is looked for directly on the site the name selects (imaplib),
and read back through snigate by the same driver family. The error paths: a wrong password gets
the site's own refusal (535, NO [AUTHENTICATIONFAILED]) through snigate; a name no router takes
makes the driver's TLS handshake fail with unrecognized_name. Without SNI, the login's domain
selects the site.

node/mail_send.js (nodemailer), node/mail_read.js (imapflow) and java/MailClient.java (compiled
with javac into a temporary directory for the module) print JSON."""
from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from harness.configs import addr, lb, router
from harness.mail_gateway import SITES, mail_pki, start_sites, tls_section, transports
from harness.mail_clients import SMTPTo, delivered_by, imap_find, logs_on_failure, unique_subject
from harness.snigate import Snigate
from harness.util import free_port, run

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
JAVA_SRC = HERE / "java" / "MailClient.java"
MAIL_JAR = Path("/usr/share/java/javax.mail.jar")  # Debian libmail-java (javax.activation on its Class-Path)

# name -> (site, router on each entry point)
ROUTES = {"a.mail.test": ("a", "a"), "mx-b.mail.test": ("b", "b")}
UNKNOWN = "nope.mail.test"


class Gateway:
    def __init__(self, pki, sites, sg):
        self.pki, self.sites, self.sg = pki, sites, sg

    def ctx(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pki.ca_cert))

    def port(self, ep: str) -> int:
        return self.sg.ports[ep]


def gateway_config(pki, sites, ports) -> dict:
    a, b = sites["a"], sites["b"]
    eps, routers, services = {}, {}, {}
    for p in ("smtp", "imap"):
        for ep in (p, f"{p}login"):
            eps[ep] = {"address": addr(ports[ep]), "protocol": p, "mail": {"hostname": "gw.mail.test"}}
        routers[f"{p}-a"] = router("HostSNI(`a.mail.test`)", f"{p}-sa", eps=[p], tls={"passthrough": True})
        routers[f"{p}-b"] = router("HostSNI(`mx-b.mail.test`)", f"{p}-sbtls", eps=[p], tls={})
        routers[f"{p}-login-a"] = router("HostSNI(`a.mail.test`)", f"{p}-sa", eps=[f"{p}login"], tls={})
        routers[f"{p}-login-b"] = router("HostSNI(`b.mail.test`)", f"{p}-sbtls", eps=[f"{p}login"], tls={})
        services[f"{p}-sa"] = lb(addr(getattr(a, f"{p}_port")))
        services[f"{p}-sbtls"] = lb(addr(getattr(b, f"{p}_port")), tls=True, transport="tob")
    return {
        "entryPoints": eps,
        "tcp": {"routers": routers, "services": services, "serversTransports": transports(pki)},
        "tls": tls_section(pki),
    }


@pytest.fixture(scope="module")
def gw(request, tmp_path_factory, snigate_bin) -> Gateway:
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not speak SMTP or IMAP")
    workdir = tmp_path_factory.mktemp("mail-drivers")
    pki = mail_pki(workdir / "pki")
    sites = start_sites(request, workdir, pki)
    ports = {ep: free_port() for ep in ("smtp", "imap", "smtplogin", "imaplogin")}
    sg = Snigate(workdir / "snigate", gateway_config(pki, sites, ports), name="snigate-mail-drivers")
    request.addfinalizer(sg.teardown)
    sg.start()
    return Gateway(pki, sites, sg)


def put_message(gw: Gateway, k: str, what: str) -> str:
    """A message for alice on site k, sent straight to the site's SMTP server; its subject."""
    subject = unique_subject(what)
    site = gw.sites[k]
    with SMTPTo(site.domain, site.smtp_port, local_hostname="client.test", timeout=10) as smtp:
        smtp.sendmail("bob@x.test", [f"alice@{site.domain}"], f"Subject: {subject}\r\n\r\nhello\r\n")
    return subject


def landed_on(gw: Gateway, k: str, subject: str) -> bytes:
    """The message with this subject, read directly from site k over IMAP: exactly one, delivered
    there, and not on the other site."""
    found = imap_find(gw.ctx(), gw.sites[k], subject)
    assert len(found) == 1 and delivered_by(found[0]) == SITES[k], found
    other = gw.sites["b" if k == "a" else "a"]
    assert not any(subject.encode() in raw for raw in other.messages())
    return found[0]


def routed(gw: Gateway, ep: str, name: str, mark: int) -> dict:
    return gw.sg.wait_access(lambda e: e.get("entry_point") == ep and e.get("sni") == name, after=mark,
                             what=f"access log entry for {name} on {ep}")


# ---------------------------------------------------------------- node: nodemailer, imapflow

@pytest.fixture(scope="module")
def node():
    missing = [m for m in ("nodemailer", "imapflow") if not (NODE_DIR / "node_modules" / m).is_dir()]
    if missing:
        pytest.skip(f"node {' and '.join(missing)} not installed: run `npm ci` in tests/e2e/node "
                    "(scripts/install-deps.sh --test does)")
    if not shutil.which("node"):
        pytest.skip("node not found (Debian nodejs; scripts/install-deps.sh --test)")


def node_run(script: str, args: dict, timeout: float = 30.0) -> dict:
    cp = run(["node", str(NODE_DIR / script), json.dumps(args)], timeout=timeout)
    lines = cp.stdout.strip().splitlines()
    assert cp.returncode == 0 and lines, f"node {script} exited {cp.returncode}:\n{cp.stdout}\n{cp.stderr}"
    return json.loads(lines[-1])


def nodemailer_send(gw: Gateway, name: str | None, subject: str, password: str = "secret", user: str = "alice",
                    ep: str = "smtp") -> dict:
    """name None: no SNI (the driver is given the address only)."""
    return node_run("mail_send.js", {"port": gw.port(ep), "servername": name, "ca": str(gw.pki.ca_cert),
                                     "user": user, "password": password, "from": "bob@x.test",
                                     "to": "alice@example.test", "subject": subject})


def imapflow_read(gw: Gateway, name: str | None, subject: str, password: str = "secret", user: str = "alice",
                  ep: str = "imap") -> dict:
    return node_run("mail_read.js", {"port": gw.port(ep), "servername": name, "ca": str(gw.pki.ca_cert),
                                     "user": user, "password": password, "subject": subject})


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_nodemailer_sends_to_the_site_its_name_selects(gw, node, name):
    k, r = ROUTES[name]
    subject = unique_subject(f"nodemailer {name}")
    mark = gw.sg.access_mark()
    with logs_on_failure(*gw.sites.values()):
        out = nodemailer_send(gw, name, subject)
        assert out["ok"], json.dumps(out, indent=1) + gw.sg.logs()
        assert out["response"].startswith("250 "), out
        said = "\n".join(out["transcript"])
        assert "S: 220 gw.mail.test ESMTP snigate" in said, said   # snigate greeted
        assert f"S: 250-{SITES[k]}" in said, said                 # the site answered the EHLO after TLS
        raw = landed_on(gw, k, subject)
    assert b"with ESMTPSA;" in raw, raw[:600]  # the site saw TLS and the login (passthrough, re-encrypted)
    assert routed(gw, "smtp", name, mark)["router"] == f"smtp-{r}"


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_imapflow_reads_back_through_snigate(gw, node, name):
    k, r = ROUTES[name]
    subject = put_message(gw, k, f"imapflow {name}")
    mark = gw.sg.access_mark()
    out = imapflow_read(gw, name, subject)
    assert out["ok"], json.dumps(out, indent=1) + gw.sg.logs()
    assert out["secure"] is True, out
    assert "debug: * OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] gw.mail.test ready (snigate)" in out["log"], out
    assert len(out["messages"]) == 1 and f"X-Delivered-By: {SITES[k]}" in out["messages"][0], out
    assert out["serverInfo"] and "dovecot" in json.dumps(out["serverInfo"]).lower(), out  # ID answered by the site
    assert routed(gw, "imap", name, mark)["router"] == f"imap-{r}"


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_nodemailer_wrong_password_gets_the_sites_535(gw, node, name):
    out = nodemailer_send(gw, name, unique_subject("nodemailer wrong password"), password="wrong")
    assert not out["ok"] and out["code"] == "EAUTH", out
    assert out["responseCode"] == 535 and out["response"].startswith("535 5.7.8"), out


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_imapflow_wrong_password_gets_the_sites_no(gw, node, name):
    out = imapflow_read(gw, name, "anything", password="wrong")
    assert not out["ok"] and out["authenticationFailed"], out
    assert out["responseStatus"] == "NO" and out["serverResponseCode"] == "AUTHENTICATIONFAILED", out
    assert out["responseText"] == "Authentication failed.", out  # Dovecot's words


def test_nodemailer_unknown_name_fails_with_unrecognized_name(gw, node):
    mark = gw.sg.access_mark()
    out = nodemailer_send(gw, UNKNOWN, unique_subject("nodemailer unknown"))
    assert not out["ok"] and out["code"] == "ESOCKET", out
    assert "SSL routines:ssl3_read_bytes:tlsv1 unrecognized name" in out["error"], out
    assert "S: 220 2.0.0 Ready to start TLS" in out["transcript"], out
    assert routed(gw, "smtp", UNKNOWN, mark)["end"] == "no_route"


def test_imapflow_unknown_name_fails_with_unrecognized_name(gw, node):
    mark = gw.sg.access_mark()
    out = imapflow_read(gw, UNKNOWN, "anything")
    assert not out["ok"] and out["code"] == "ERR_SSL_TLSV1_UNRECOGNIZED_NAME", out
    assert "SSL routines:ssl3_read_bytes:tlsv1 unrecognized name" in out["error"], out
    assert routed(gw, "imap", UNKNOWN, mark)["end"] == "no_route"


@pytest.mark.parametrize("k", sorted(SITES))
def test_node_drivers_without_sni_are_routed_by_their_login(gw, node, k):
    """nodemailer and imapflow given the address only send no SNI: snigate ends their TLS (its
    default certificate, chain checked, name not) and routes by the domain of the login (SMTP
    AUTH, IMAP LOGIN: snigate offers no AUTH= before the login, so imapflow uses LOGIN)."""
    domain = SITES[k]
    subject = unique_subject(f"nodemailer no SNI {domain}")
    mark = gw.sg.access_mark()
    with logs_on_failure(*gw.sites.values()):
        out = nodemailer_send(gw, None, subject, user=f"alice@{domain}", ep="smtplogin")
        assert out["ok"], json.dumps(out, indent=1) + gw.sg.logs()
        assert "S: 235 2.7.0 Authentication successful" in out["transcript"], out  # the site's answer
        landed_on(gw, k, subject)
    assert routed(gw, "smtplogin", domain, mark)["router"] == f"smtp-login-{k}"

    out = imapflow_read(gw, None, subject, user=f"alice@{domain}", ep="imaplogin")
    assert out["ok"], json.dumps(out, indent=1) + gw.sg.logs()
    assert len(out["messages"]) == 1 and f"X-Delivered-By: {domain}" in out["messages"][0], out
    assert any(line.endswith(f' LOGIN "alice@{domain}" "(* value hidden *)"') for line in out["log"]), out
    assert routed(gw, "imaplogin", domain, mark)["router"] == f"imap-login-{k}"


# ---------------------------------------------------------------- JVM: JavaMail

class JavaMail:
    def __init__(self, classes: Path, hosts: Path):
        self.classes, self.hosts = classes, hosts

    def __call__(self, gw: Gateway, mode: str, name: str | None, subject: str, password: str = "secret",
                 user: str = "alice", ep: str = "") -> dict:
        """name None: the address 127.0.0.1 (no SNI, no name checked)."""
        ep = ep or {"send": "smtp", "read": "imap"}[mode]
        args = ["--host", name or "127.0.0.1", "--port", str(gw.port(ep)), "--ca", str(gw.pki.ca_cert),
                "--user", user, "--password", password, "--subject", subject]
        if name is None:
            args += ["--checkserveridentity", "false"]
        if mode == "send":
            args += ["--from", "bob@x.test", "--to", "alice@example.test"]
        # The JVM resolves the names through `hosts` (to 127.0.0.1): JavaMail connects to the name
        # itself, so it sends it as SNI and checks the certificate against it.
        cp = run(["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", f"-Djdk.net.hosts.file={self.hosts}",
                  "-cp", f"{self.classes}{os.pathsep}{MAIL_JAR}", "MailClient", mode, *args], timeout=30)
        lines = cp.stdout.strip().splitlines()
        assert cp.returncode == 0 and lines, f"java MailClient exited {cp.returncode}:\n{cp.stdout}\n{cp.stderr}"
        return json.loads(lines[-1])


@pytest.fixture(scope="module", autouse=True)
def _javac(request, tmp_path_factory):
    """Starts javac on MailClient.java before the mail sites start (it takes about 1.5 s);
    `javamail` waits for it. (dir, process), or None without JavaMail or a JDK."""
    if not (MAIL_JAR.is_file() and shutil.which("javac")):
        return None
    d = tmp_path_factory.mktemp("javamail")
    p = subprocess.Popen(["javac", "-d", str(d / "classes"), "-cp", str(MAIL_JAR), str(JAVA_SRC)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    request.addfinalizer(lambda: p.poll() is None and p.kill())
    return d, p


@pytest.fixture(scope="module")
def javamail(_javac) -> JavaMail:
    if not MAIL_JAR.is_file():
        pytest.skip(f"JavaMail not installed: {MAIL_JAR} is missing (Debian libmail-java; scripts/install-deps.sh --test)")
    if not (shutil.which("javac") and shutil.which("java")):
        pytest.skip("javac/java not found (Debian openjdk-17-jdk-headless)")
    d, p = _javac
    said, _ = p.communicate(timeout=120)
    assert p.returncode == 0, f"javac {JAVA_SRC} failed:\n{said}"
    hosts = d / "hosts"
    hosts.write_text(f"127.0.0.1 {' '.join([*SITES.values(), 'mx-a.mail.test', 'mx-b.mail.test', UNKNOWN])}\n")
    return JavaMail(d / "classes", hosts)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_javamail_sends_and_reads_back_through_snigate(gw, javamail, name):
    k, r = ROUTES[name]
    subject = unique_subject(f"javamail {name}")
    mark = gw.sg.access_mark()
    with logs_on_failure(*gw.sites.values()):
        out = javamail(gw, "send", name, subject)
        assert out["ok"], json.dumps(out, indent=1) + gw.sg.logs()
        assert out["response"].startswith("250 "), out
        said = "\n".join(out["transcript"])
        assert "220 gw.mail.test ESMTP snigate" in said and f"250-{SITES[k]}" in said, said
        raw = landed_on(gw, k, subject)
    assert b"with ESMTPSA;" in raw and b"sent by JavaMail" in raw, raw[:600]
    assert routed(gw, "smtp", name, mark)["router"] == f"smtp-{r}"

    out = javamail(gw, "read", name, subject)
    assert out["ok"], json.dumps(out, indent=1) + gw.sg.logs()
    assert len(out["messages"]) == 1 and f"X-Delivered-By: {SITES[k]}" in out["messages"][0], out
    said = "\n".join(out["transcript"])
    assert "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] gw.mail.test ready (snigate)" in said, said
    assert routed(gw, "imap", name, mark)["router"] == f"imap-{r}"


@pytest.mark.parametrize("mode,name,expect", [
    ("send", "a.mail.test", "535 5.7.8 Authentication credentials invalid"),        # aiosmtpd's words
    ("read", "mx-b.mail.test", "[AUTHENTICATIONFAILED] Authentication failed.")])  # Dovecot's
def test_javamail_wrong_password_gets_the_sites_answer(gw, javamail, mode, name, expect):
    out = javamail(gw, mode, name, "anything", password="wrong")
    assert not out["ok"] and out["exception"] == "javax.mail.AuthenticationFailedException", out
    assert out["error"].strip() == expect, out


@pytest.mark.parametrize("mode,says", [("send", "Could not convert socket to TLS"), ("read", "STARTTLS failure")])
def test_javamail_unknown_name_fails_with_unrecognized_name(gw, javamail, mode, says):
    ep = {"send": "smtp", "read": "imap"}[mode]
    mark = gw.sg.access_mark()
    out = javamail(gw, mode, UNKNOWN, "anything")
    assert not out["ok"] and out["exception"] == "javax.mail.MessagingException" and out["error"] == says, out
    assert out["causes"][-1] == "javax.net.ssl.SSLHandshakeException: Received fatal alert: unrecognized_name", out
    assert routed(gw, ep, UNKNOWN, mark)["end"] == "no_route"


def test_javamail_without_sni_is_routed_by_its_login(gw, javamail):
    """JavaMail given the address sends no SNI: routed by the domain of its AUTH (SMTP) and
    LOGIN (IMAP), to site b over the re-encrypted link."""
    subject = unique_subject("javamail no SNI")
    mark = gw.sg.access_mark()
    with logs_on_failure(*gw.sites.values()):
        out = javamail(gw, "send", None, subject, user="alice@b.mail.test", ep="smtplogin")
        assert out["ok"], json.dumps(out, indent=1) + gw.sg.logs()
        landed_on(gw, "b", subject)
    assert routed(gw, "smtplogin", "b.mail.test", mark)["router"] == "smtp-login-b"
    out = javamail(gw, "read", None, subject, user="alice@b.mail.test", ep="imaplogin")
    assert out["ok"], json.dumps(out, indent=1) + gw.sg.logs()
    assert len(out["messages"]) == 1 and "X-Delivered-By: b.mail.test" in out["messages"][0], out
    assert routed(gw, "imaplogin", "b.mail.test", mark)["router"] == "imap-login-b"
