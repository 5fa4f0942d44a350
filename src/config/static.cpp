// The static part: entryPoints, providers.file, log, accessLog, snigate.
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "config/http_url.hpp"
#include "config/loader.hpp"
#include "rule/ip_range.hpp"

namespace snigate::config::detail {

using walk::Ctx;
using walk::Item;
using walk::Key;

namespace {

void parse_protocol(Ctx& ctx, const Item& it, Protocol& out) {
  std::string s;
  if (!walk::get_string(ctx, it, s)) return;
  if (s == "tcp") out = Protocol::tcp;
  else if (s == "mysql") out = Protocol::mysql;
  else if (s == "postgres") out = Protocol::postgres;
  else if (s == "smtp") out = Protocol::smtp;
  else if (s == "imap") out = Protocol::imap;
  else if (s == "pop3") out = Protocol::pop3;
  else if (s == "xmpp") out = Protocol::xmpp;
  else
    ctx.error(it.loc(ctx), it.path,
              fmt::format("unknown protocol \"{}\": use tcp, mysql, postgres, smtp, imap, pop3 or xmpp", s));
}

// The transport keys. readTimeout is handed back: what it means depends on
// clientHelloTimeout (apply_read_timeout).
void parse_transport_keys(Ctx& ctx, const Item& it, EntryPoint& ep, Item& read_timeout) {
  walk::walk_map(ctx, it, {
    {"lifeCycle", [&](const Item& lc) {
       walk::walk_map(ctx, lc, {
         {"graceTimeOut", [&](const Item& v) { walk::get_duration(ctx, v, ep.grace_timeout); }},
         {"requestAcceptGraceTimeout", [&](const Item& v) { walk::get_duration(ctx, v, ep.accept_grace_timeout); }},
       });
     }},
    {"respondingTimeouts", [&](const Item& rt) {
       walk::walk_map(ctx, rt, {
         {"readTimeout", [&](const Item& v) { read_timeout = v; }},
         walk::ignored(ctx, "idleTimeout",
                       "an HTTP keep-alive setting in Traefik; an idle TCP connection is closed after the "
                       "entry point's tcpIdleTimeout (default 1h)"),
         walk::ignored(ctx, "writeTimeout", "an HTTP response timeout; TCP uses tcpIdleTimeout"),
       });
     }},
    walk::ignored(ctx, "keepAliveMaxRequests", "an HTTP keep-alive setting"),
    walk::ignored(ctx, "keepAliveMaxTime", "an HTTP keep-alive setting"),
  });
}

// On Traefik's TCP entry points readTimeout is a deadline set at accept and
// cleared once the router has read the ClientHello: snigate's
// clientHelloTimeout. Either key sets it; both must agree. 0 (Traefik: no
// deadline) keeps snigate's, which never lets a silent client hold a
// connection before routing.
void apply_read_timeout(Ctx& ctx, const Item& read_timeout, const Item& client_hello, EntryPoint& ep) {
  Duration d{};
  if (!read_timeout.value.defined() || !walk::get_duration(ctx, read_timeout, d)) return;
  const bool hello_given = client_hello.value.defined();
  if (d.count() == 0) {
    ctx.warn(read_timeout.loc(ctx), read_timeout.path,
             fmt::format("0 means no deadline in Traefik; snigate keeps clientHelloTimeout ({} ms{}) so that a "
                         "client that sends nothing is not held open forever before routing",
                         ep.client_hello_timeout.count(), hello_given ? "" : ", the default"));
    return;
  }
  if (!hello_given) ep.client_hello_timeout = d;
  else if (d != ep.client_hello_timeout)
    ctx.error(read_timeout.loc(ctx), read_timeout.path,
              fmt::format("transport.respondingTimeouts.readTimeout ({}) and clientHelloTimeout ({}) both set the "
                          "deadline for a client's first bytes and differ: give one of them, or the same value",
                          read_timeout.value.scalar(), client_hello.value.scalar()));
}

// proxyProtocol says what address a client is believed to come from, so it
// is never accepted and ignored: every range must parse, and a section that
// trusts no one is an error rather than a setting that does nothing.
void parse_proxy_protocol(Ctx& ctx, const Item& it, ProxyProtocolIn& out) {
  out.loc = it.loc(ctx);
  Item trusted;
  if (!walk::walk_map(ctx, it, {
        {"trustedIPs", [&](const Item& v) {
           trusted = v;
           if (!walk::get_string_list(ctx, v, out.trusted_ips)) return;
           for (std::size_t i = 0; i < out.trusted_ips.size(); ++i) {
             auto r = rule::parse_ip_range(out.trusted_ips[i]);
             if (auto* why = std::get_if<std::string>(&r))
               ctx.error(ctx.loc(v.value[i]), fmt::format("{}[{}]", v.path, i), *why);
           }
         }},
        {"insecure", [&](const Item& v) { walk::get_bool(ctx, v, out.insecure); }},
      }))
    return;
  if (out.trusted_ips.empty() && !out.insecure)
    ctx.error(trusted.value.defined() ? trusted.loc(ctx) : out.loc, it.path + ".trustedIPs",
              "trusts no one: list the proxies' addresses or CIDR blocks (e.g. [\"10.0.0.0/8\"]), or set "
              "insecure: true to believe every peer's header; without either the section would be ignored");
}

// mail: what snigate says of itself where it speaks a mail protocol first.
void parse_mail(Ctx& ctx, const Item& it, EntryPoint& ep) {
  walk::walk_map(ctx, it, {
    {"hostname", [&](const Item& v) {
       if (!walk::get_string(ctx, v, ep.mail_hostname)) return;
       const bool bad = ep.mail_hostname.empty() || std::ranges::any_of(ep.mail_hostname, [](char ch) {
         return static_cast<unsigned char>(ch) <= 0x20 || static_cast<unsigned char>(ch) >= 0x7f;
       });
       if (bad) ctx.error(v.loc(ctx), v.path, "must be a host name: printable ASCII, no spaces (e.g. mx.example.com)");
     }},
  });
}

void parse_entry_point(Ctx& ctx, const std::string& name, const Item& it, Static& out) {
  EntryPoint ep;
  ep.name = name;
  ep.loc = it.loc(ctx);
  bool has_address = false;
  bool udp = false;
  Item address_item, read_timeout, client_hello, mail;
  walk::walk_map(ctx, it, {
    {"address", [&](const Item& v) {
       has_address = true;
       address_item = v;
       walk::get_string(ctx, v, ep.address);
     }},
    {"transport", [&](const Item& v) { parse_transport_keys(ctx, v, ep, read_timeout); }},
    {"protocol", [&](const Item& v) { parse_protocol(ctx, v, ep.protocol); }},
    {"tcpIdleTimeout", [&](const Item& v) { walk::get_duration(ctx, v, ep.tcp_idle_timeout); }},
    {"clientHelloTimeout", [&](const Item& v) {
       client_hello = v;
       walk::get_duration(ctx, v, ep.client_hello_timeout);
     }},
    {"firstByteTimeout", [&](const Item& v) { walk::get_duration(ctx, v, ep.first_byte_timeout); }},
    {"reusePort", [&](const Item& v) { walk::get_bool(ctx, v, ep.reuse_port); }},
    {"proxyProtocol", [&](const Item& v) { parse_proxy_protocol(ctx, v, ep.proxy_protocol.emplace()); }},
    {"mail", [&](const Item& v) {
       mail = v;
       parse_mail(ctx, v, ep);
     }},
    walk::ignored(ctx, "http", "HTTP routing is not part of snigate"),
    walk::ignored(ctx, "http2", "HTTP/2 settings do not apply to TCP"),
    walk::ignored(ctx, "http3", "HTTP/3 is not part of snigate"),
    walk::ignored(ctx, "udp", "UDP is not part of snigate"),
    walk::ignored(ctx, "forwardedHeaders", "an HTTP setting"),
    {"asDefault", [&](const Item& v) { walk::get_bool(ctx, v, ep.as_default); }},
    walk::ignored(ctx, "observability", "an HTTP setting"),
    walk::ignored(ctx, "allowACMEByPass", "snigate answers only the ACME challenges it ordered; every other client goes to the routers"),
  });
  if (!it.is_null() && !it.value.is_map()) return;  // walk_map reported it
  apply_read_timeout(ctx, read_timeout, client_hello, ep);
  if (mail.value.defined() && !is_mail(ep.protocol))
    ctx.error(mail.loc(ctx), mail.path,
              fmt::format("applies to entry points with protocol smtp, imap or pop3; this one's is {}",
                          protocol_name(ep.protocol)));
  if (!has_address) {
    ctx.error(ep.loc, it.path + ".address", "is required (e.g. \":443\")");
  } else if (!ep.address.empty() || !address_item.is_null()) {
    std::string_view a = ep.address;
    if (a.size() > 4 && a.substr(a.size() - 4) == "/udp") udp = true;
    if (a.size() > 4 && (a.substr(a.size() - 4) == "/tcp" || udp)) ep.address.resize(a.size() - 4);
    if (udp) {
      ctx.warn(address_item.loc(ctx), address_item.path,
               "ignored: a UDP entry point; snigate serves TCP only, this entry point is left out");
      return;
    }
    if (std::string why = walk::check_address(ep.address, true); !why.empty())
      ctx.error(address_item.loc(ctx), address_item.path, why);
  } else {
    ctx.error(address_item.loc(ctx), address_item.path, "must not be empty (e.g. \":443\")");
  }
  out.entry_points[name] = std::move(ep);
}

void parse_file_provider(Ctx& ctx, const Item& it, Static& out) {
  Item filename, directory;
  walk::walk_map(ctx, it, {
    {"filename", [&](const Item& v) { filename = v; }},
    {"directory", [&](const Item& v) { directory = v; }},
    {"watch", [&](const Item& v) { walk::get_bool(ctx, v, out.watch); }},
    walk::ignored(ctx, "debugLogGeneratedTemplate", "snigate does not expand Go templates in files"),
  });
  auto absolute = [&](const Item& v, std::string& dst) {
    std::string s;
    if (!walk::get_string(ctx, v, s)) return;
    if (s.empty()) {
      ctx.error(v.loc(ctx), v.path, "must not be empty");
      return;
    }
    std::error_code ec;
    auto p = std::filesystem::absolute(ctx.resolve(s), ec);
    dst = ec ? ctx.resolve(s) : p.lexically_normal().string();
  };
  if (filename.value.defined()) {
    out.provider_loc = filename.loc(ctx);
    absolute(filename, out.file_filename);
  }
  if (directory.value.defined()) {
    out.provider_loc = directory.loc(ctx);
    absolute(directory, out.file_directory);
  }
  if (filename.value.defined() && directory.value.defined())
    ctx.error(directory.loc(ctx), it.path, "filename and directory are mutually exclusive: give one");
}

void parse_providers(Ctx& ctx, const Item& it, Static& out) {
  constexpr std::string_view other = "only the file and etcd providers are supported";
  walk::walk_map(ctx, it, {
    {"file", [&](const Item& v) { parse_file_provider(ctx, v, out); }},
    {"etcd", [&](const Item& v) { parse_etcd_provider(ctx, v, out); }},
    {"providersThrottleDuration", [&](const Item& v) { walk::get_duration(ctx, v, out.providers_throttle); }},
    walk::ignored(ctx, "docker", other), walk::ignored(ctx, "swarm", other),
    walk::ignored(ctx, "kubernetesCRD", other), walk::ignored(ctx, "kubernetesIngress", other),
    walk::ignored(ctx, "kubernetesGateway", other), walk::ignored(ctx, "consulCatalog", other),
    walk::ignored(ctx, "nomad", other), walk::ignored(ctx, "ecs", other),
    walk::ignored(ctx, "consul", other),
    walk::ignored(ctx, "zooKeeper", other), walk::ignored(ctx, "redis", other),
    walk::ignored(ctx, "http", other), walk::ignored(ctx, "rest", other),
    walk::ignored(ctx, "plugin", other), walk::ignored(ctx, "marathon", other),
    walk::ignored(ctx, "rancher", other), walk::ignored(ctx, "kubernetesIngressNGINX", other),
  });
}

// Traefik's level names (upper case) to snigate's four; empty if unknown.
std::string_view log_level_of(std::string_view s) {
  if (s == "TRACE" || s == "DEBUG") return "DEBUG";
  if (s == "INFO") return "INFO";
  if (s == "WARN" || s == "WARNING") return "WARN";
  if (s == "ERROR" || s == "FATAL" || s == "PANIC") return "ERROR";
  return {};
}

void parse_log(Ctx& ctx, const Item& it, Static& out) {
  constexpr std::string_view why = "snigate logs text to stderr";
  walk::walk_map(ctx, it, {
    {"level", [&](const Item& v) {
       std::string s;
       if (!walk::get_string(ctx, v, s)) return;
       std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
       std::string_view level = log_level_of(s);
       if (!level.empty()) out.log_level = std::string(level);
       else ctx.error(v.loc(ctx), v.path, fmt::format("unknown log level \"{}\": use DEBUG, INFO, WARN or ERROR", v.value.scalar()));
     }},
    walk::ignored(ctx, "format", why), walk::ignored(ctx, "filePath", why),
    walk::ignored(ctx, "noColor", why), walk::ignored(ctx, "maxSize", why),
    walk::ignored(ctx, "maxAge", why), walk::ignored(ctx, "maxBackups", why),
    walk::ignored(ctx, "compress", why),
    walk::ignored(ctx, "otlp", "snigate logs text to stderr; OpenTelemetry export is not supported"),
  });
}

void parse_access_log(Ctx& ctx, const Item& it, Static& out) {
  out.access_log = true;
  out.access_log_path = std::string(1, '-');  // not = "-": GCC 12 -O3 -Wrestrict false positive
  walk::walk_map(ctx, it, {
    {"filePath", [&](const Item& v) {
       std::string s;
       if (walk::get_string(ctx, v, s) && !s.empty()) out.access_log_path = s;
     }},
    {"format", [&](const Item& v) {
       std::string s;
       if (!walk::get_string(ctx, v, s) || s.empty() || s == "json") return;
       // Traefik's default; it describes HTTP requests, so a TCP connection has no line in it.
       if (s == "common")
         ctx.warn(v.loc(ctx), v.path,
                  "ignored: \"common\" is Traefik's format for HTTP requests; snigate writes its TCP "
                  "access log as JSON lines");
       else
         ctx.error(v.loc(ctx), v.path, fmt::format("unknown format \"{}\": the TCP access log is JSON", s));
     }},
    walk::ignored(ctx, "bufferingSize", "snigate writes access log lines as they come"),
    walk::ignored(ctx, "filters", "HTTP status and duration filters do not apply to TCP"),
    walk::ignored(ctx, "fields", "the TCP access log has a fixed set of JSON fields"),
    walk::ignored(ctx, "addInternals", "snigate has no internal HTTP routers to log"),
    walk::ignored(ctx, "otlp", "OpenTelemetry export is not supported; the access log is written to filePath"),
  });
}

// Traefik's section: present (even as ocsp: {}) turns stapling on.
void parse_ocsp(Ctx& ctx, const Item& it, Static& out) {
  out.ocsp = true;
  walk::walk_map(ctx, it, {
    {"responderOverrides", [&](const Item& v) {
       walk::for_each_entry(ctx, v, [&](const std::string& from, const Item& e) {
         std::string to, why;
         if (!walk::get_string(ctx, e, to)) return;
         if (!parse_http_url(to, why))
           ctx.error(e.loc(ctx), e.path, fmt::format("\"{}\" is not a responder URL: {} (e.g. http://ocsp.example.net)", to, why));
         else
           out.ocsp_responder_overrides[from] = to;
       });
     }},
  });
}

}  // namespace

void parse_static(Ctx& ctx, const yaml::Node& root, Static& out) {
  constexpr std::string_view not_tcp = "does not concern TCP routing";
  auto skip = [](std::string_view name) { return Key{name, [](const Item&) {}}; };
  Loc entry_points_at{ctx.file(), 0};
  walk::walk_top_map(ctx, walk::root(root), {
    {"entryPoints", [&](const Item& v) {
       entry_points_at = v.loc(ctx);
       walk::for_each_entry(ctx, v, [&](const std::string& name, const Item& e) { parse_entry_point(ctx, name, e, out); });
     }},
    {"providers", [&](const Item& v) { parse_providers(ctx, v, out); }},
    {"log", [&](const Item& v) { parse_log(ctx, v, out); }},
    {"accessLog", [&](const Item& v) { parse_access_log(ctx, v, out); }},
    {"snigate", [&](const Item& v) {
       walk::walk_map(ctx, v, {
         {"workers", [&](const Item& w) {
            int n = 0;
            if (!walk::get_int(ctx, w, n)) return;
            if (n < 0) ctx.error(w.loc(ctx), w.path, "must be 0 (one per core) or more");
            else out.workers = n;
          }},
       });
     }},
    skip("tcp"), skip("tls"), skip("tcpServersTransport"),
    walk::ignored(ctx, "http", "HTTP routing is not part of snigate"),
    walk::ignored(ctx, "udp", "UDP is not part of snigate"),
    {"api", [&](const Item& v) { parse_api(ctx, v, out); }},
    {"metrics", [&](const Item& v) { parse_metrics(ctx, v, out); }},
    {"ping", [&](const Item& v) { parse_ping(ctx, v, out); }},
    walk::ignored(ctx, "hub", "Traefik Hub is not part of snigate"),
    walk::ignored(ctx, "tracing", not_tcp),
    walk::ignored(ctx, "serversTransport", "the HTTP servers transport; TCP uses tcp.serversTransports"),
    {"certificatesResolvers", [&](const Item& v) { parse_acme_resolvers(ctx, v, out); }},
    walk::ignored(ctx, "global", not_tcp), walk::ignored(ctx, "experimental", not_tcp),
    walk::ignored(ctx, "hostResolver", not_tcp), walk::ignored(ctx, "spiffe", "SPIFFE is not supported"),
    walk::ignored(ctx, "pilot", not_tcp),
    {"ocsp", [&](const Item& v) { parse_ocsp(ctx, v, out); }},
    {"core", [&](const Item& v) {
       walk::walk_map(ctx, v, {
         {"defaultRuleSyntax", [&](const Item& s) {
            out.default_rule_syntax_loc = s.loc(ctx);
            std::string syntax;
            if (!walk::get_string(ctx, s, syntax)) return;
            if (syntax == "v2" || syntax == "v3") out.default_rule_syntax = syntax;
            else ctx.error(out.default_rule_syntax_loc, s.path, "must be v2 or v3, not \"" + syntax + "\"");
          }},
       });
     }},
  });
  resolve_admin_entry_points(ctx, out);
  check_acme_entry_points(ctx, out);
  if (out.entry_points.empty() && (root.is_null() || root.is_map()))
    ctx.warn(entry_points_at, "entryPoints",
             "no entry point defined, nothing will be served: add one, e.g. entryPoints: {websecure: {address: \":443\"}}");
}

}  // namespace snigate::config::detail
