#!/usr/bin/python3
"""HARNESS SELF-TEST ONLY: a slow Python stand-in for snigate implementing just the contract the
e2e tests assume (see README.md). It is not snigate and not a reference for it. Needs python3-yaml.
Run: SNIGATE_BIN=tests/e2e/tools/fake_snigate.py /usr/bin/python3 -m pytest tests/e2e"""
import json, os, re, signal, socket, ssl, struct, subprocess, sys, tempfile, threading, time, select
import yaml

def dur(v):
    if isinstance(v, (int, float)): return float(v)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", str(v))
    n = float(m.group(1)); u = m.group(2) or "s"
    return n / 1000 if u == "ms" else n * 60 if u == "m" else n

ALLOWED = {
    (): {"entryPoints", "log", "accessLog", "tcp", "tls", "providers"},
    ("entryPoints", "*"): {"address", "firstByteTimeout", "transport"},
    ("entryPoints", "*", "transport"): {"lifeCycle"},
    ("entryPoints", "*", "transport", "lifeCycle"): {"graceTimeOut"},
    ("tcp",): {"routers", "services", "serversTransports"},
    ("tcp", "routers", "*"): {"entryPoints", "rule", "service", "tls", "priority"},
    ("tcp", "routers", "*", "tls"): {"passthrough", "options"},
    ("tcp", "services", "*"): {"loadBalancer"},
    ("tcp", "services", "*", "loadBalancer"): {"servers", "serversTransport"},
    # terminationDelay is accepted and ignored: the fake never cuts a half-open connection.
    ("tcp", "serversTransports", "*"): {"dialTimeout", "terminationDelay", "tls"},
    ("tcp", "serversTransports", "*", "tls"): {"serverName", "rootCAs"},
}

def validate(path):
    errs = []
    text = open(path).read()
    if not text.strip(): return {}, []
    node = yaml.compose(text)
    def walk(n, keys):
        if isinstance(n, yaml.MappingNode):
            pat = None
            for cand, allowed in ALLOWED.items():
                if len(cand) == len(keys) and all(c == "*" or c == k for c, k in zip(cand, keys)):
                    pat = allowed
            for kn, vn in n.value:
                if pat is not None and kn.value not in pat:
                    errs.append(f"{path}:{kn.start_mark.line+1}: {'.'.join(keys+(kn.value,))}: unknown key")
                walk(vn, keys + (kn.value,))
    walk(node, ())
    cfg = yaml.safe_load(text) or {}
    tcp = cfg.get("tcp", {}) or {}
    for rn, r in (tcp.get("routers") or {}).items():
        s = r.get("service")
        if s and not s.endswith("@internal") and s not in (tcp.get("services") or {}):
            errs.append(f"{path}:1: tcp.routers.{rn}.service: unknown service {s}")
    return cfg, errs

def sni_match(pat, sni):
    if pat == "*": return True
    if sni is None: return False
    if pat.startswith("*."): return sni.endswith(pat[1:]) and sni.count(".") == pat.count(".")
    return pat == sni

class Router:
    def __init__(s, name, r):
        s.name = name; s.eps = r.get("entryPoints") or []; s.rule = r["rule"]; s.service = r["service"]
        s.host = re.search(r"HostSNI\(`([^`]*)`\)", s.rule).group(1)
        s.tls = r.get("tls"); s.passthrough = bool(s.tls and s.tls.get("passthrough"))
        s.priority = r.get("priority", len(s.rule))
    def why_not(s, ep, is_tls, sni):
        if s.eps and ep not in s.eps: return "other entry point"
        if s.tls is None and is_tls: return "router without tls only matches non-TLS clients"
        if s.tls is not None and not is_tls: return "router with tls only matches TLS clients"
        if is_tls and not sni_match(s.host, sni): return f"HostSNI({s.host}) does not match {sni}"
        if not is_tls and s.host != "*": return "plain client has no SNI"
        return None

class Snap:
    def __init__(s, cfg):
        tcp = cfg.get("tcp") or {}
        s.routers = sorted((Router(n, r) for n, r in (tcp.get("routers") or {}).items()), key=lambda r: -r.priority)
        s.services = tcp.get("services") or {}
        s.transports = tcp.get("serversTransports") or {}
        s.rr = {}
        s.ctxs = []  # (names, ctx)
        for c in (cfg.get("tls") or {}).get("certificates") or []:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(c["certFile"], c["keyFile"])
            ctx.set_alpn_protocols(["http/1.1"])
            out = subprocess.run(["openssl", "x509", "-in", c["certFile"], "-noout", "-ext", "subjectAltName"], capture_output=True, text=True).stdout
            s.ctxs.append((re.findall(r"DNS:([^,\s]+)", out), ctx))
        d = ((cfg.get("tls") or {}).get("stores") or {}).get("default", {}).get("defaultCertificate")
        s.default = None
        if d:
            s.default = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); s.default.load_cert_chain(d["certFile"], d["keyFile"]); s.default.set_alpn_protocols(["http/1.1"])
        elif BUILTIN_CERT:
            s.default = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); s.default.load_cert_chain(*BUILTIN_CERT); s.default.set_alpn_protocols(["http/1.1"])
    def ctx_for(s, sni):
        for names, ctx in s.ctxs:
            if sni in names: return ctx
        for names, ctx in s.ctxs:
            if any(n.startswith("*.") and sni_match(n, sni) for n in names): return ctx
        return s.default
    def match(s, ep, is_tls, sni):
        for r in s.routers:
            if r.why_not(ep, is_tls, sni) is None: return r
        return None

BUILTIN_CERT = None
LOG_LOCK = threading.Lock()
def log(msg):
    with LOG_LOCK:
        sys.stderr.write(time.strftime("%H:%M:%S ") + msg + "\n"); sys.stderr.flush()

class App:
    def __init__(s, path, cfg):
        s.path = path; s.cfg = cfg; s.snap = Snap(cfg); s.active = 0; s.lock = threading.Lock()
        s.stopping = False; s.listeners = {}
        al = (cfg.get("accessLog") or {}).get("filePath")
        s.alog = open(al, "a", buffering=1) if al else None
        for name, ep in cfg["entryPoints"].items():
            host, port = ep["address"].rsplit(":", 1)
            ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((host, int(port))); ls.listen(512); ls.settimeout(0.05)
            s.listeners[name] = ls
            threading.Thread(target=s.accept_loop, args=(name, ep, ls), daemon=True).start()
    def accept_loop(s, name, ep, ls):
        while not s.stopping:
            try: c, a = ls.accept()
            except socket.timeout: continue
            except OSError: break
            c.settimeout(None)
            with s.lock: s.active += 1
            threading.Thread(target=s.handle, args=(name, ep, c, a), daemon=True).start()
        ls.close()
    def access(s, **kw):
        if s.alog:
            e = dict(time=time.strftime("%Y-%m-%dT%H:%M:%S"), alpn="", tls_version="", sni="", router="", service="", server="", bytes_in=0, bytes_out=0)
            e.update(kw); s.alog.write(json.dumps(e) + "\n")
    def handle(s, epname, ep, c, a):
        t0 = time.monotonic(); snap = s.snap
        info = dict(entry_point=epname, client=f"{a[0]}:{a[1]}", end="closed")
        try:
            s.session(snap, epname, ep, c, info)
        except Exception as e:
            info.setdefault("error", repr(e))
        finally:
            try: c.close()
            except OSError: pass
            info["duration_ms"] = round((time.monotonic() - t0) * 1000, 3)
            s.access(**info)
            with s.lock: s.active -= 1
    def session(s, snap, epname, ep, c, info):
        eprouters = [r for r in snap.routers if not r.eps or epname in r.eps]
        has_tls = any(r.tls is not None for r in eprouters); has_plain = any(r.tls is None for r in eprouters)
        first = b""
        if has_tls:
            r, _, _ = select.select([c], [], [], dur(ep.get("firstByteTimeout", "1s")) if has_plain else 5)
            if r: first = c.recv(5, socket.MSG_PEEK)
            if r and not first: return
        is_tls = first[:1] == b"\x16"
        sni = None
        if is_tls:
            deadline = time.monotonic() + 5
            while True:
                buf = c.recv(65536, socket.MSG_PEEK)
                if len(buf) >= 5:
                    ln = struct.unpack("!H", buf[3:5])[0]
                    if len(buf) >= 5 + ln: break
                if time.monotonic() > deadline: info["end"] = "timeout"; return
                time.sleep(0.002)
            sni = parse_sni(buf[5:5 + ln])
            info["sni"] = sni or ""
        rt = snap.match(epname, is_tls, sni)
        if rt is None:
            info["end"] = "no_route"
            if is_tls:
                log(f"no route for sni {sni} on entry point {epname}")
                c.sendall(b"\x15\x03\x01\x00\x02\x02\x70")
            return
        info["router"] = rt.name; info["service"] = rt.service
        client = c
        if is_tls and not rt.passthrough:
            client = snap.ctx_for(sni).wrap_socket(c, server_side=True)
            info["tls_version"] = client.version(); info["alpn"] = client.selected_alpn_protocol() or ""
        if rt.service == "whoami@internal":
            req = b""
            while b"\r\n\r\n" not in req:
                d = client.recv(4096)
                if not d: return
                req += d
            body = f"sni: {sni}\nrouter: {rt.name}\nclient: {info['client']}\ntls_version: {info.get('tls_version')}\nalpn: {info.get('alpn')}\n".encode()
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            return
        svc = snap.services[rt.service]["loadBalancer"]; servers = svc["servers"]
        tr = snap.transports.get(svc.get("serversTransport", ""), {})
        n = len(servers); start = snap.rr.get(rt.service, 0); snap.rr[rt.service] = start + 1
        backend = None; why = []
        for i in range(n):
            srv = servers[(start + i) % n]; h, p = srv["address"].rsplit(":", 1)
            try:
                backend = socket.create_connection((h, int(p)), timeout=dur(tr.get("dialTimeout", "30s")))
                backend.settimeout(None); info["server"] = srv["address"]; break
            except OSError as e:
                why.append(f"{srv['address']}: {e.strerror or e}")
                continue
        where = f"router {rt.name}: service {rt.service}: "
        if backend is None:
            info["end"] = "backend_unreachable"; info["detail"] = where + "; ".join(why)
            log(f"warning {info['client']}: {info['detail']}"); return
        if servers[0].get("tls"):
            t = tr.get("tls") or {}
            bctx = ssl.create_default_context(cafile=(t.get("rootCAs") or [None])[0])
            name = t.get("serverName") or h
            try:
                backend = bctx.wrap_socket(backend, server_hostname=name)
            except ssl.SSLError as e:
                info["end"] = "backend_tls_failed"
                info["detail"] = f'{where}TLS handshake with {info["server"]} (as "{name}") failed: {e} (certificate: {getattr(e, "verify_message", "")})'
                log(f"warning {info['client']}: {info['detail']}"); return
        info["bytes_in"], info["bytes_out"] = relay(client, backend)
    def reload(s):
        try:
            cfg, errs = validate(s.path)
            if errs: raise ValueError("; ".join(errs))
            s.snap = Snap(cfg); log("config reloaded")
        except Exception as e:
            log(f"reload failed: {e}")
    def term(s):
        s.stopping = True
        grace = max([dur(((ep.get("transport") or {}).get("lifeCycle") or {}).get("graceTimeOut", "10s")) for ep in s.cfg["entryPoints"].values()])
        deadline = time.monotonic() + grace
        time.sleep(0.1)
        while s.active > 0 and time.monotonic() < deadline: time.sleep(0.02)
        log("stopped"); os._exit(0)

def relay(a, b):
    counts = {id(a): 0, id(b): 0}; open_ = {a: b, b: a}
    for x in (a, b): x.setblocking(True)
    while open_:
        ready = [x for x in open_ if isinstance(x, ssl.SSLSocket) and x.pending()]
        if not ready: ready, _, _ = select.select(list(open_), [], [], 600)
        for src in ready:
            if src not in open_: continue
            dst = open_[src]
            try:
                src.settimeout(0); d = src.recv(1 << 18)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                continue
            except (ssl.SSLError, OSError): d = b""
            finally:
                src.settimeout(None)
            if not d:
                del open_[src]
                try: dst.shutdown(socket.SHUT_WR) if not isinstance(dst, ssl.SSLSocket) else None
                except OSError: pass
                if isinstance(dst, ssl.SSLSocket) or isinstance(src, ssl.SSLSocket): open_.clear()
                continue
            counts[id(src)] += len(d)
            try: dst.sendall(d)
            except OSError: open_.clear()
    for x in (a, b):
        try: x.close()
        except OSError: pass
    return counts[id(a)], counts[id(b)]

def parse_sni(hs):
    try:
        p = 4 + 2 + 32; p += 1 + hs[p]; p += 2 + struct.unpack("!H", hs[p:p+2])[0]; p += 1 + hs[p]
        end = p + 2 + struct.unpack("!H", hs[p:p+2])[0]; p += 2
        while p < end:
            t, l = struct.unpack("!HH", hs[p:p+4]); p += 4
            if t == 0: return hs[p+5:p+5+struct.unpack("!H", hs[p+3:p+5])[0]].decode()
            p += l
    except Exception: pass
    return None

def main(argv):
    global BUILTIN_CERT
    cmd = argv[0] if argv and not argv[0].startswith("-") else "run"
    args = argv[1:] if cmd != "run" else argv
    opts = {}
    i = 0
    while i < len(args):
        opts[args[i].lstrip("-")] = args[i + 1]; i += 2
    if cmd == "version": print("snigate 0.0.0-fake"); return 0
    path = opts.get("config")
    if cmd in ("check", "explain"):
        cfg, errs = validate(path)
        for e in errs: print(e)
        if errs: return 2
        if cmd == "check": return 0
        global BUILTIN_CERT
        snap = Snap(cfg); sni = opts.get("sni"); ep = opts["entrypoint"]; found = None
        for r in snap.routers:
            why = r.why_not(ep, sni is not None, sni)
            if why is None and found is None: found = r; print(f"match: {r.name}")
            else: print(f"  {r.name}: {why or 'lower priority'}")
        return 0 if found else 1
    if path is None:
        d = tempfile.mkdtemp()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=snigate", "-keyout", d + "/k", "-out", d + "/c"], capture_output=True)
        BUILTIN_CERT = (d + "/c", d + "/k")
        cfg = {"entryPoints": {"default": {"address": "127.0.0.1:8443"}},
               "tcp": {"routers": {"default": {"rule": "HostSNI(`*`)", "service": "whoami@internal", "tls": {}}}}}
    else:
        cfg, errs = validate(path)
        if errs:
            for e in errs: log(e)
            return 2
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP, signal.SIGTERM})
    app = App(path, cfg)
    log("started")
    while True:
        sig = signal.sigwait({signal.SIGHUP, signal.SIGTERM})
        threading.Thread(target=app.reload if sig == signal.SIGHUP else app.term).start()

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
