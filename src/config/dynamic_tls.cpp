// The dynamic part under tls (certificates, options, stores), and the top of a
// dynamic file.
#include <fmt/core.h>

#include <algorithm>
#include <array>

#include "config/loader.hpp"

namespace snigate::config::detail {

using walk::Ctx;
using walk::Item;
using walk::Key;

namespace {

constexpr std::array<std::string_view, 4> kVersions{"VersionTLS10", "VersionTLS11", "VersionTLS12",
                                                    "VersionTLS13"};
constexpr std::array<std::string_view, 5> kClientAuthTypes{
    "NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert"};

template <std::size_t N>
void get_one_of(Ctx& ctx, const Item& it, const std::array<std::string_view, N>& allowed, std::string& out) {
  std::string s;
  if (!walk::get_string(ctx, it, s)) return;
  if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) {
    out = s;
    return;
  }
  std::string list;
  for (std::string_view a : allowed) list += fmt::format("{}{}", list.empty() ? "" : ", ", a);
  std::string msg = fmt::format("unknown value \"{}\": use one of {}", s, list);
  if (std::string hint = walk::did_you_mean(s, {allowed.begin(), allowed.end()}); !hint.empty())
    msg += fmt::format(" (did you mean \"{}\"?)", hint);
  ctx.error(it.loc(ctx), it.path, std::move(msg));
}

void parse_options(Ctx& ctx, const std::string& name, const Item& it, Dynamic& out) {
  TlsOptions o;
  o.name = name;
  o.loc = it.loc(ctx);
  bool is_map = walk::walk_map(ctx, it, {
    {"minVersion", [&](const Item& v) { get_one_of(ctx, v, kVersions, o.min_version); }},
    {"maxVersion", [&](const Item& v) { get_one_of(ctx, v, kVersions, o.max_version); }},
    {"cipherSuites", [&](const Item& v) { walk::get_string_list(ctx, v, o.cipher_suites); }},
    {"curvePreferences", [&](const Item& v) { walk::get_string_list(ctx, v, o.curve_preferences); }},
    {"alpnProtocols", [&](const Item& v) { walk::get_string_list(ctx, v, o.alpn_protocols); }},
    {"sniStrict", [&](const Item& v) { walk::get_bool(ctx, v, o.sni_strict); }},
    walk::ignored(ctx, "preferServerCipherSuites", "deprecated in Traefik; the server's order is always used"),
    {"disableSessionTickets", [&](const Item& v) { walk::get_bool(ctx, v, o.disable_session_tickets); }},
    {"clientAuth", [&](const Item& v) {
       walk::walk_map(ctx, v, {
         {"caFiles", [&](const Item& f) { walk::get_file_list(ctx, f, o.client_ca_files); }},
         {"clientAuthType", [&](const Item& t) { get_one_of(ctx, t, kClientAuthTypes, o.client_auth_type); }},
       });
     }},
  });
  if (is_map) out.tls_options[name] = std::move(o);
}

void parse_store(Ctx& ctx, const std::string& name, const Item& it, Dynamic& out) {
  if (name != "default") {
    ctx.warn(it.loc(ctx), it.path, "ignored: only the store named \"default\" is used");
    return;
  }
  walk::walk_map(ctx, it, {
    {"defaultCertificate", [&](const Item& v) {
       CertFiles c;
       parse_cert_files(ctx, v, c);
       out.default_certificate = std::move(c);
     }},
    walk::ignored(ctx, "defaultGeneratedCert", "the default certificate does not come from ACME; give defaultCertificate"),
  });
}

}  // namespace

void parse_tls(Ctx& ctx, const Item& it, Dynamic& out) {
  walk::walk_map(ctx, it, {
    {"certificates", [&](const Item& v) {
       walk::for_each_element(ctx, v, [&](const Item& e) {
         CertFiles c;
         Key stores{"stores", [&](const Item& s) {
                      std::vector<std::string> names;
                      if (!walk::get_string_list(ctx, s, names)) return;
                      for (const std::string& n : names)
                        if (n != "default")
                          ctx.warn(s.loc(ctx), s.path,
                                   fmt::format("ignored: store \"{}\"; only the store named \"default\" is used", n));
                    }};
         parse_cert_files(ctx, e, c, &stores);
         out.certificates.push_back(std::move(c));
       });
     }},
    {"options", [&](const Item& v) {
       walk::for_each_entry(ctx, v, [&](const std::string& n, const Item& e) { parse_options(ctx, n, e, out); });
     }},
    {"stores", [&](const Item& v) {
       walk::for_each_entry(ctx, v, [&](const std::string& n, const Item& e) { parse_store(ctx, n, e, out); });
     }},
  });
}

constexpr std::string_view kStaticOnly =
    "belongs to the static configuration: write it in the file given to --config, not in a provider file";

void parse_dynamic_root(Ctx& ctx, const yaml::Node& root, Dynamic& out, bool only_dynamic) {
  Item top = walk::root(root);
  if (!only_dynamic) {
    walk::walk_top_map(ctx, top, {
      {"tcp", [&](const Item& v) { parse_tcp(ctx, v, out); }},
      {"tls", [&](const Item& v) { parse_tls(ctx, v, out); }},
      walk::ignored(ctx, "http", "HTTP routing is not part of snigate"),
      walk::ignored(ctx, "udp", "UDP is not part of snigate"),
      walk::rejected(ctx, "entryPoints", kStaticOnly), walk::rejected(ctx, "providers", kStaticOnly),
      walk::rejected(ctx, "log", kStaticOnly), walk::rejected(ctx, "accessLog", kStaticOnly),
      walk::rejected(ctx, "snigate", kStaticOnly), walk::rejected(ctx, "core", kStaticOnly),
    });
    return;
  }
  if (!root.is_map()) return;  // parse_static has said so
  Dynamic from_static;
  // Key names in any case, as parse_static reads them (and has reported their spelling).
  for (const walk::Entry& e : walk::map_entries(ctx, top, true)) {
    if (!e.key.is_scalar()) continue;
    const std::string_view k = e.key.scalar();
    if (walk::iequal(k, "tcp")) parse_tcp(ctx, top.child(e.key, e.value, "tcp"), out);
    else if (walk::iequal(k, "tls")) parse_tls(ctx, top.child(e.key, e.value, "tls"), out);
    else if (walk::iequal(k, "tcpServersTransport")) {
      Item item = top.child(e.key, e.value, "tcpServersTransport");
      // Traefik's static default for TCP servers: snigate's transport "default".
      ServersTransport st;
      st.name = "default";
      parse_transport(ctx, item, st);
      from_static.servers_transports["default"] = std::move(st);
    }
  }
  std::vector<Error> errors;
  merge(out, std::move(from_static), errors);
  for (Error& e : errors) ctx.error(e.loc, e.path, e.message);
}

}  // namespace snigate::config::detail
