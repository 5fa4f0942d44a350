"""The configurations under examples/ stay valid, and the examples work as their READMEs say.

Every examples/*/snigate.yaml must pass `snigate check`. Each example folder is copied to a
temporary directory first (termination/ and postgres/ also get their certificates there from
make-certs.sh), so nothing is written into the source tree. The quickstart example gets a free
port in place of its fixed 18xxx one; mixed, passthrough, termination, postgres and
directory-provider run on their own fixed ports with their start-backends.sh, after a check
that those ports are free (and that no two examples share one). Every example's README.md is
also run as written: its ```sh blocks, in order, from a copy of the checkout (harness/readme_run.py;
the markers are in tests/e2e/README.md).
"""
from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from harness.clients import curl
from harness import readme_blocks
from harness.example_run import (EXAMPLES, assert_ports_free, copy_example, example_ports, port_in_use,
                                 start_example)
from harness.readme_run import ReadmeRun
from harness.servers import pg_env
from harness.snigate import REPO_ROOT, Snigate
from harness.util import LOCALHOST, free_port, wait_until

CONFIGS = sorted(EXAMPLES.glob("*/snigate.yaml"))


def copy_config(name: str, dest: Path) -> Path:
    """examples/NAME copied to dest/NAME (certificates made); its snigate.yaml."""
    return copy_example(name, dest) / "snigate.yaml"


def with_free_port(text: str) -> tuple[str, int]:
    """The config text with its one 127.0.0.1:18xxx entry point address replaced by a free port."""
    entry = re.search(r'entryPoints:\s*\n\s+\w+:\s*\n\s+address: "127\.0\.0\.1:(18\d\d\d)"', text)
    assert entry, "expected an entry point address 127.0.0.1:18xxx"
    port = free_port()
    return text.replace(f'"127.0.0.1:{entry.group(1)}"', f'"{LOCALHOST}:{port}"'), port


def test_every_example_has_a_config_and_a_readme():
    folders = sorted(p for p in EXAMPLES.iterdir() if p.is_dir())
    assert {"quickstart", "passthrough", "termination", "mixed"} <= {p.name for p in folders}
    for folder in folders:
        assert (folder / "snigate.yaml").is_file(), folder
        assert (folder / "README.md").is_file(), folder


@pytest.mark.parametrize("config", CONFIGS, ids=[p.parent.name for p in CONFIGS])
def test_example_passes_check(snigate_bin, tmp_path, config):
    copied = copy_config(config.parent.name, tmp_path)
    cp = subprocess.run([str(snigate_bin), "check", "--config", str(copied)],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode == 0, f"snigate check {config}:\n{cp.stdout}\n{cp.stderr}"
    assert ": OK (" in cp.stdout, cp.stdout
    assert "warning" not in cp.stderr, f"an example should load without warnings:\n{cp.stderr}"


def test_quickstart_passthrough_block_is_valid_when_uncommented(snigate_bin, tmp_path):
    """The README says: remove the "# " in front of the app router and the services block."""
    config = copy_config("quickstart", tmp_path)
    text = config.read_text()
    start = text.index("    # app:")
    text = text[:start] + re.sub(r"^(\s*)# ", r"\1", text[start:], flags=re.M)
    config.write_text(text)
    cp = subprocess.run([str(snigate_bin), "check", "--config", str(config)],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode == 0, f"{cp.stdout}\n{cp.stderr}\n{text}"
    assert "2 router(s), 1 service(s)" in cp.stdout, cp.stdout


@pytest.mark.parametrize("name", ["termination", "postgres", "mail"])
def test_example_certificates_are_not_committed(name):
    cp = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "--error-unmatch", f"examples/{name}"],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode == 0, f"git ls-files failed (not a git checkout?):\n{cp.stderr}"
    tracked = cp.stdout.split()
    assert f"examples/{name}/snigate.yaml" in tracked, tracked  # the listing is real
    assert not [f for f in tracked if f.endswith((".pem", ".key"))], tracked


def _access_lines(sg: Snigate) -> list:
    """The access log of an example goes to stdout (accessLog: {}); one JSON object per line."""
    out = []
    for line in sg.log().splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_quickstart_answers_with_whoami(tmp_path):
    config = copy_config("quickstart", tmp_path)
    text, port = with_free_port(config.read_text())
    sg = Snigate(tmp_path / "run", text, name="quickstart", ports={"websecure": port})
    sg.start()
    try:
        # As in the README: curl -k to the IP address (no SNI), then with a name.
        argv = ["curl", "-sS", "-k", "--max-time", "10", "--noproxy", "*", f"https://{LOCALHOST}:{port}/"]
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        assert cp.returncode == 0, cp.stderr
        assert cp.stdout.startswith("snigate whoami\n"), cp.stdout
        assert "router: whoami\n" in cp.stdout
        assert "sni: (none)\n" in cp.stdout
        assert "request: GET / HTTP/1.1" in cp.stdout

        named = curl("demo.localhost", port, "/", insecure=True)
        assert named.rc == 0 and named.status == 200, named
        assert "sni: demo.localhost\n" in named.body
        # No alpnProtocols configured: snigate agrees to no ALPN protocol.
        assert "alpn: (none)\n" in named.body

        line = sg_wait(sg, lambda e: e.get("sni") == "demo.localhost")
        assert line["end"] == "closed" and line["mode"] == "terminate", line
        assert line["router"] == "whoami" and line["service"] == "whoami@internal", line
        assert line["bytes_in"] > 0 and line["bytes_out"] > 0, line
    finally:
        assert sg.stop() == 0


def sg_wait(sg: Snigate, pred, timeout: float = 5.0) -> dict:
    def find():
        return next((e for e in _access_lines(sg) if pred(e)), None)
    return wait_until(find, timeout, "access log line on stdout", on_timeout=sg.logs)


# ---------------------------------------------------------------- examples started and used
# These run on the examples' own fixed ports, with their start-backends.sh, as a user would.

def test_examples_use_distinct_ports():
    seen = {}
    for folder in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        for port in example_ports(folder.name):
            assert port not in seen, f"127.0.0.1:{port} is used by examples/{seen[port]} and examples/{folder.name}"
            seen[port] = folder.name
    assert len(seen) >= 12, seen  # the scan found the ports


def run_cmd(argv, cwd=None, timeout=20, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          stdin=subprocess.DEVNULL, **kw)


def s_client_subject(port, name):
    cp = run_cmd(["openssl", "s_client", "-connect", f"{LOCALHOST}:{port}", "-servername", name])
    return cp.returncode, cp.stdout + cp.stderr


def wait_line(ex, pred, what):
    return wait_until(lambda: next((e for e in ex.access_lines() if pred(e)), None), 5, what,
                      on_timeout=ex.sg.logs)


@pytest.fixture
def example(snigate_bin, tmp_path, request):
    started = []

    def start(name, entry, backend_ports, script_args=(), ready_line=""):
        ex = start_example(name, tmp_path, entry, backend_ports, script_args, ready_line)
        started.append(ex)
        return ex
    yield start
    for ex in started:
        rc, _ = ex.stop()
        assert rc == 0, f"snigate exited {rc}\n{ex.sg.logs()}"


def test_mixed_example(example):
    """Redis and TLS on one port, with the example's start-backends.sh and its own ports."""
    ex = example("mixed", "shared", [18779])
    cp = run_cmd(["redis-cli", "-h", LOCALHOST, "-p", str(ex.port), "ping"])
    assert cp.stdout.strip() == "PONG", cp
    who = curl("who.localhost", ex.port, "/", insecure=True)
    assert who.rc == 0 and "router: who\n" in who.body, who
    plain = wait_until(lambda: next((e for e in ex.access_lines() if e.get("mode") == "plain"
                                     and e.get("end") == "closed"), None), 5.0, "the plain access line")
    assert plain["router"] == "redis" and plain["server"] == f"{LOCALHOST}:18779", plain


def test_passthrough_example(example, tmp_path, snigate_bin):
    certs = tmp_path / "passthrough-certs"
    ex = example("passthrough", "websecure", [18544, 18545], [str(certs)])
    for name in ("alpha", "beta"):
        _, out = s_client_subject(ex.port, f"{name}.localhost")
        assert re.search(rf"subject=\s*CN\s*=\s*{name}\.localhost", out), out
    cp = run_cmd(["curl", "-sS", "--noproxy", "*", "--max-time", "10", "--cacert", str(certs / "beta.pem"),
                  "--resolve", f"beta.localhost:{ex.port}:127.0.0.1", f"https://beta.localhost:{ex.port}/"])
    assert cp.returncode == 0 and "s_server" in cp.stdout, cp  # s_server -www's status page, verified end to end
    rc, out = s_client_subject(ex.port, "gamma.localhost")
    assert rc != 0 and "unrecognized name" in out, out
    line = wait_line(ex, lambda e: e["sni"] == "gamma.localhost", "the gamma line")
    assert line["end"] == "no_route" and "router alpha" in line["detail"], line
    beta = wait_line(ex, lambda e: e["sni"] == "beta.localhost" and e["end"] == "closed", "a beta line")
    assert (beta["mode"], beta["server"]) == ("passthrough", "127.0.0.1:18545"), beta
    cp = run_cmd([str(snigate_bin), "explain", "--config", str(ex.dir / "snigate.yaml"), "-e", "websecure",
                  "--sni", "beta.localhost"])
    assert cp.returncode == 0 and "match: beta" in cp.stdout, cp


def test_termination_example(example, tmp_path):
    ex = example("termination", "websecure", [18651, 18652, 18653], [str(tmp_path / "pages")])
    names = ["app.example.test", "x.apps.example.test", "legacy.example.test", "secure.example.test"]

    def curl_example(name, *extra):
        argv = ["curl", "-sS", "--noproxy", "*", "--max-time", "10", "--cacert", "certs/ca.pem"]
        for n in names:
            argv += ["--resolve", f"{n}:{ex.port}:127.0.0.1"]
        return run_cmd(argv + list(extra) + [f"https://{name}:{ex.port}/"], cwd=ex.dir)

    assert curl_example("app.example.test").stdout == "app backend\n"
    assert curl_example("x.apps.example.test").stdout == "tenants backend\n"
    verbose = curl_example("x.apps.example.test", "-v")
    assert "*.apps.example.test" in verbose.stderr and "TLSv1.3" in verbose.stderr, verbose.stderr
    old = curl_example("x.apps.example.test", "--tls-max", "1.2")
    assert old.returncode == 35 and "protocol version" in old.stderr, old
    strict = curl_example("legacy.example.test")
    assert strict.returncode == 35 and "unrecognized name" in strict.stderr, strict
    secure = curl_example("secure.example.test")
    assert secure.returncode == 0 and "s_server" in secure.stdout, secure  # over a second TLS connection
    assert wait_line(ex, lambda e: e["sni"] == "legacy.example.test", "legacy")["end"] == "no_certificate"
    assert wait_line(ex, lambda e: e["sni"] == "x.apps.example.test" and e["end"] != "closed",
                     "the TLS 1.2 refusal")["end"] == "tls_handshake_failed"
    # The README's last step: a serverName the backend's certificate lacks, then SIGHUP.
    config = ex.dir / "snigate.yaml"
    config.write_text(config.read_text().replace("serverName: backend.example.test", "serverName: wrong.example.test"))
    before = ex.sg.log().count("config reloaded (SIGHUP)")
    ex.sg.signal(signal.SIGHUP)
    wait_until(lambda: ex.sg.log().count("config reloaded (SIGHUP)") > before, 5, "the reload", on_timeout=ex.sg.logs)
    broken = curl_example("secure.example.test")
    assert "s_server" not in broken.stdout, broken
    line = wait_line(ex, lambda e: e["sni"] == "secure.example.test" and e["end"] != "closed", "the failure")
    assert line["end"] == "backend_tls_failed" and "certificate" in line["detail"], line


def test_postgres_example(example, tmp_path):
    if not any(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("no PostgreSQL server binaries in /usr/lib/postgresql")
    ex = example("postgres", "pg", [18551, 18552, 18553], [str(Path("/tmp") / f"snigate-e2e-{tmp_path.name}")],
                 ready_line="backends ready")  # the role and database exist
    ca = ex.dir / "certs" / "ca.pem"
    sql = "select current_user || ' ' || inet_server_port()"

    def psql(dsn):
        return run_cmd(["psql", "-X", "-A", "-t", "-d", dsn, "-c", sql], env=pg_env())
    got = {}
    for label, dsn in {
        "orders": f"host=orders.db.example.test hostaddr=127.0.0.1 port={ex.port} sslmode=verify-full "
                  f"sslrootcert={ca} user=alice",
        "billing": f"host=billing.db.example.test hostaddr=127.0.0.1 port={ex.port} sslmode=verify-full "
                   f"sslrootcert={ca} user=alice",
        "legacy": f"host=127.0.0.1 port={ex.port} sslmode=require user=alice@legacy.db.example.test",
        "legacy-plain": f"host=127.0.0.1 port={ex.port} sslmode=disable user=alice@legacy.db.example.test",
    }.items():
        cp = psql(dsn)
        assert cp.returncode == 0, (label, cp.stderr)
        got[label] = cp.stdout.strip()
    assert got == {"orders": "alice 18551", "billing": "alice 18552", "legacy": "alice 18553",
                   "legacy-plain": "alice 18553"}, got
    nope = psql(f"host=nope.db.example.test hostaddr=127.0.0.1 port={ex.port} sslmode=require user=alice")
    assert nope.returncode != 0 and 'no route on entry point pg for "nope.db.example.test"' in nope.stderr, nope
    modes = {e["router"]: e["mode"] for e in ex.access_lines() if e["end"] in ("closed", "reset")}
    assert modes.get("orders") == "postgres" and modes.get("billing") == "passthrough", modes


def write_atomically(path: Path, text: str) -> None:
    """As `sed -i` saves: the once-a-second check never sees a half-written file."""
    tmp = path.with_name(path.name + ".tmp")  # not *.yaml: the provider skips it
    tmp.write_text(text)
    tmp.replace(path)


def test_directory_provider_example(example, tmp_path):
    ex = example("directory-provider", "websecure", [18844], [str(tmp_path / "echo-cert")])

    def curl_k(name):
        return run_cmd(["curl", "-sS", "-k", "--noproxy", "*", "--max-time", "10", "--resolve",
                        f"{name}:{ex.port}:127.0.0.1", f"https://{name}:{ex.port}/"])
    assert "router: whoami\n" in curl_k("any.localhost").stdout
    assert "s_server" in curl_k("echo.localhost").stdout
    extra = ex.dir / "dynamic" / "extra.yaml"
    offset = len(ex.errlog())

    def log_since(needle):
        return wait_until(lambda: needle in ex.errlog()[offset:] and ex.errlog()[offset:], 5,
                          f"{needle!r} in the log", on_timeout=ex.sg.logs)
    write_atomically(extra, 'tcp:\n  routers:\n    extra:\n      entryPoints: [websecure]\n'
                     '      rule: "HostSNI(`extra.localhost`)"\n      service: whoami@internal\n      tls: {}\n')
    assert "config reloaded (file changed): generation 2, 3 router(s)" in log_since("config reloaded")
    assert "router: extra\n" in curl_k("extra.localhost").stdout
    offset = len(ex.errlog())
    write_atomically(extra, extra.read_text().replace("service: whoami@internal", "servce: whoami@internal"))
    new = log_since('unknown key "servce"')
    assert "reload failed (file changed)" in new and "tcp.routers.extra" in new, new
    assert "router: extra\n" in curl_k("extra.localhost").stdout  # still the previous configuration
    offset = len(ex.errlog())
    extra.unlink()
    assert "config reloaded (file changed): generation 3, 2 router(s)" in log_since("config reloaded")
    assert "router: whoami\n" in curl_k("extra.localhost").stdout


# ---------------------------------------------------------------- the READMEs, run as written
# Each example's README.md is followed literally: its ```sh blocks run in order from the root of
# a copy of the repository (see harness/readme_blocks.py for the markers, tests/e2e/README.md).

READMES = sorted(p.parent.name for p in EXAMPLES.glob("*/README.md"))


def copy_checkout(name: str, dest: Path, binary: Path) -> Path:
    """What a user has at the root of a checkout, for examples/NAME: the example folder (without
    the certs/ its make-certs.sh writes) and build/snigate, a link to the binary under test."""
    root = dest / "checkout"
    shutil.copytree(EXAMPLES / name, root / "examples" / name, ignore=shutil.ignore_patterns("certs"))
    (root / "build").mkdir()
    (root / "build" / "snigate").symlink_to(binary)
    return root


def user_env(root: Path) -> dict:
    """A user's shell after `export PATH=$PWD/build:$PATH` (README.md): snigate on PATH; no PG*
    variables or ~/.pgpass (pg_env), and no proxy variables, so curl talks to 127.0.0.1 itself."""
    env = {k: v for k, v in pg_env().items() if not k.lower().endswith("_proxy")}
    env["PATH"] = f"{root / 'build'}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def test_readme_markers_are_few():
    """Every ```sh block is run unless its marker says why not, and such blocks stay rare."""
    skipped = [b for name in READMES for b in readme_blocks.parse(EXAMPLES / name / "README.md") if b.skip]
    assert len(skipped) <= 3, "\n".join(f"{b.where()}: {b.skip}" for b in skipped)


@pytest.mark.parametrize("text, error", [
    ("```\nls\n```\n", "must name its language"),
    ("```bash\nls\n```\n", "must name its language"),
    ("<!-- test: skip -->\n```sh\nls\n```\n", "must say why"),
    ("<!-- test: background -->\n```sh\nsnigate\n```\n", "needs `listens: PORT`"),
    ("<!-- test: expect-fail -->\n```text\nout\n```\n", "right before a ```sh block"),
    ("<!-- test: expect-fial -->\n```sh\nls\n```\n", "unknown test marker item"),
    ("```sh\nls\n", "not closed"),
    ("- a list item:\n\n  ```\n  ls\n  ```\n", "must name its language"),
])
def test_readme_convention_is_enforced(tmp_path, text, error):
    readme = tmp_path / "README.md"
    readme.write_text("# Example\n\n" + text)
    with pytest.raises(readme_blocks.ReadmeError, match=re.escape(error)):
        readme_blocks.parse(readme)


@pytest.mark.parametrize("name", READMES)
def test_readme_commands_run_as_written(snigate_bin, tmp_path, name):
    blocks = readme_blocks.parse(EXAMPLES / name / "README.md")
    if name == "postgres" and not any(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("no PostgreSQL server binaries in /usr/lib/postgresql")
    assert_ports_free(name)
    root = copy_checkout(name, tmp_path, snigate_bin)
    with ReadmeRun(root, tmp_path / "run", user_env(root)) as run:
        for block in blocks:
            run.run(block)
    assert not run.sanitizer_lines(), "\n".join(run.sanitizer_lines()[:20])
    left = sorted(p for p in example_ports(name) if port_in_use(p))
    assert not left, f"still listening after the README's servers were stopped: {left}"


def run_readme(tmp_path: Path, text: str) -> None:
    """Run a README made up by a test, from tmp_path/checkout, as test_readme_commands_run_as_written does."""
    readme = tmp_path / "README.md"
    readme.write_text(text)
    root = tmp_path / "checkout"
    (root / "sub").mkdir(parents=True)
    with ReadmeRun(root, tmp_path / "run", user_env(root)) as run:
        for block in readme_blocks.parse(readme):
            run.run(block)


def test_readme_runner_follows_a_readme(tmp_path):
    """The runner itself, without snigate: `cd` and variables carry over, expected output in
    the right place, expect-fail, a background server started at the checkout's root (it lists
    sub/), Ctrl-C of one before the next block."""
    port = free_port()
    server = f"python3 -m http.server {port} --bind 127.0.0.1"
    run_readme(tmp_path, f"""
```sh
cd sub
X=hello
```

```sh
echo "$X from $(basename "$PWD")"
#   hello from sub
```

<!-- test: expect-fail -->
```sh
false
test -e no-such-file
```

<!-- test: background; listens: {port} -->
```sh
{server}
```

```sh
curl -s http://127.0.0.1:{port}/ | grep -o 'href="sub/"'
#   href="sub/"
```

<!-- test: background; ctrl-c first: {server}; prints: ready -->
```sh
echo ready; exec sleep 60
```
""")
    assert not port_in_use(port)


@pytest.mark.parametrize("block, error", [
    ("```sh\necho one\n#   two\n```\n", "expected output not printed: 'two'"),
    ("```sh\necho one\n#   one\necho two\n#   one\n```\n", "line 4 of the block: expected output not printed: 'one'"),
    ("```sh\nfalse\necho after\n```\n", "line 1: exit status 1: false"),
    ("<!-- test: expect-fail -->\n```sh\nfalse\ntrue\n```\n", "each of its 2 command(s) must fail"),
    ("<!-- test: background; prints: never -->\n```sh\nexit 3\n```\n", "exited 3 before printing 'never'"),
])
def test_readme_runner_fails_a_block_that_does_not_do_what_it_says(tmp_path, block, error):
    with pytest.raises(AssertionError, match=re.escape(error)):
        run_readme(tmp_path, block)
