// certificatesResolvers.<name>.acme: Traefik's ACME resolver keys.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "config/loader.hpp"

namespace snigate::config::detail {

using walk::Ctx;
using walk::Item;

namespace {

constexpr std::string_view kKeyTypes[] = {"EC256", "EC384", "RSA2048", "RSA4096", "RSA8192"};

bool base64url_text(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '=';
  });
}

void parse_key_type(Ctx& ctx, const Item& v, AcmeResolver& out) {
  std::string s;
  if (!walk::get_string(ctx, v, s)) return;
  if (std::find(std::begin(kKeyTypes), std::end(kKeyTypes), s) != std::end(kKeyTypes)) {
    out.key_type = s;
    return;
  }
  std::vector<std::string_view> known(std::begin(kKeyTypes), std::end(kKeyTypes));
  std::string msg = fmt::format("unknown key type \"{}\": use EC256, EC384, RSA2048, RSA4096 or RSA8192", s);
  std::string hint = walk::did_you_mean(s, known);
  // Digits typed in the wrong order ("RSA4069") are the likeliest slip here.
  std::string sorted = s;
  std::ranges::sort(sorted);
  for (std::string_view k : known) {
    std::string ks(k);
    std::ranges::sort(ks);
    if (hint.empty() && ks == sorted) hint = k;
  }
  if (!hint.empty()) msg += fmt::format(" (did you mean \"{}\"?)", hint);
  ctx.error(v.loc(ctx), v.path, msg);
}

void parse_eab(Ctx& ctx, const Item& it, AcmeResolver& out) {
  walk::walk_map(ctx, it, {
    {"kid", [&](const Item& v) { walk::get_string(ctx, v, out.eab_kid); }},
    {"hmacEncoded", [&](const Item& v) {
       if (walk::get_string(ctx, v, out.eab_hmac) && !base64url_text(out.eab_hmac))
         ctx.error(v.loc(ctx), v.path, "must be the CA's HMAC key in base64url, as the CA gave it");
     }},
  });
  if (out.eab_kid.empty() || out.eab_hmac.empty())
    ctx.error(it.loc(ctx), it.path, "kid and hmacEncoded go together: give both, as the CA gave them");
}

void parse_acme(Ctx& ctx, const Item& it, AcmeResolver& out) {
  Item storage;
  walk::walk_map(ctx, it, {
    {"email", [&](const Item& v) {
       if (walk::get_string(ctx, v, out.email) && !out.email.empty() && out.email.find('@') == std::string::npos)
         ctx.error(v.loc(ctx), v.path, fmt::format("\"{}\" is not an email address", out.email));
     }},
    {"caServer", [&](const Item& v) {
       if (walk::get_string(ctx, v, out.ca_server) && !out.ca_server.starts_with("https://"))
         ctx.error(v.loc(ctx), v.path,
                   fmt::format("\"{}\" is not an ACME directory URL: it must start with https:// (e.g. "
                               "https://acme-staging-v02.api.letsencrypt.org/directory)", out.ca_server));
     }},
    {"storage", [&](const Item& v) { storage = v; }},
    {"etcdKey", [&](const Item& v) {
       out.etcd_key_loc = v.loc(ctx);
       if (walk::get_string(ctx, v, out.etcd_key) &&
           (out.etcd_key.empty() || out.etcd_key.ends_with('/') || out.etcd_key.find(' ') != std::string::npos))
         ctx.error(out.etcd_key_loc, v.path, "must be an etcd key without a trailing /, e.g. snigate/acme/le");
     }},
    {"keyType", [&](const Item& v) { parse_key_type(ctx, v, out); }},
    {"certificatesDuration", [&](const Item& v) {
       int h = 0;
       if (!walk::get_int(ctx, v, h)) return;
       if (h < 1) ctx.error(v.loc(ctx), v.path, "must be 1 (hour) or more: how long the CA's certificates last");
       else out.certificates_duration = h;
     }},
    {"preferredChain", [&](const Item& v) { walk::get_string(ctx, v, out.preferred_chain); }},
    {"eab", [&](const Item& v) { parse_eab(ctx, v, out); }},
    {"caCertificates", [&](const Item& v) { walk::get_file_list(ctx, v, out.ca_certificates); }},
    {"caSystemCertPool", [&](const Item& v) { walk::get_bool(ctx, v, out.ca_system_cert_pool); }},
    walk::rejected(ctx, "caServerName",
                   "not supported: write caServer with a host name its certificate carries (it is verified)"),
    {"clientTimeout", [&](const Item& v) { walk::get_duration(ctx, v, out.client_timeout); }},
    walk::ignored(ctx, "clientResponseHeaderTimeout", "clientTimeout bounds each whole exchange with the CA"),
    {"tlsChallenge", [&](const Item& v) {
       out.tls_challenge = true;
       walk::walk_map(ctx, v, std::initializer_list<walk::Key>{});
     }},
    {"httpChallenge", [&](const Item& v) {
       out.http_entry_point_loc = v.loc(ctx);
       walk::walk_map(ctx, v, {
         {"entryPoint", [&](const Item& e) {
            out.http_entry_point_loc = e.loc(ctx);
            walk::get_string(ctx, e, out.http_entry_point);
          }},
         walk::ignored(ctx, "delay", "snigate answers the challenge as soon as it is asked"),
       });
       if (out.http_entry_point.empty())
         ctx.error(out.http_entry_point_loc, v.path + ".entryPoint",
                   "must name the entry point the CA's HTTP-01 requests reach (port 80), e.g. entryPoint: web");
     }},
    walk::rejected(ctx, "dnsChallenge",
                   "DNS-01 is not supported: use tlsChallenge or httpChallenge (wildcard names need DNS-01, "
                   "so give their certificates in tls.certificates)"),
  });
  if (!out.tls_challenge && out.http_entry_point.empty())
    ctx.error(it.loc(ctx), it.path, "no challenge: add tlsChallenge: {} or httpChallenge: {entryPoint: web}");
  if (storage.value.defined() && !out.etcd_key.empty())
    ctx.error(storage.loc(ctx), storage.path, "storage and etcdKey exclude each other: the state lives in one place");
  std::string s = "acme.json";
  if (storage.value.defined() && walk::get_string(ctx, storage, s) && s.empty())
    ctx.error(storage.loc(ctx), storage.path, "must not be empty: a JSON file, e.g. acme.json");
  std::error_code ec;
  auto p = std::filesystem::absolute(ctx.resolve(s.empty() ? "acme.json" : s), ec);
  out.storage = ec ? ctx.resolve(s) : p.lexically_normal().string();
  const auto dir = std::filesystem::path(out.storage).parent_path();
  if (out.etcd_key.empty() && !std::filesystem::is_directory(dir, ec))
    ctx.warn(storage.value.defined() ? storage.loc(ctx) : it.loc(ctx), it.path + ".storage",
             fmt::format("directory {} does not exist here: snigate creates it (mode 0700) when it first saves",
                         dir.string()));
}

}  // namespace

void parse_acme_resolvers(Ctx& ctx, const Item& it, Static& out) {
  walk::for_each_entry(ctx, it, [&](const std::string& name, const Item& r) {
    AcmeResolver res;
    res.name = name;
    res.loc = r.loc(ctx);
    bool has_acme = false;
    walk::walk_map(ctx, r, {
      {"acme", [&](const Item& v) {
         has_acme = true;
         parse_acme(ctx, v, res);
       }},
      walk::rejected(ctx, "tailscale", "Tailscale certificates are not supported; use acme"),
    });
    if (!has_acme && r.value.is_map())
      ctx.error(res.loc, r.path, "needs an acme section: acme: {email: ..., storage: acme.json, tlsChallenge: {}}");
    out.acme[name] = std::move(res);
  });
}

// HTTP-01 requests come to an entry point as plain TCP: it must exist and route
// TCP. etcdKey needs the etcd provider's endpoints.
void check_acme_entry_points(Ctx& ctx, const Static& out) {
  for (const auto& [name, r] : out.acme) {
    if (!r.etcd_key.empty() && !out.etcd)
      ctx.error(r.etcd_key_loc, fmt::format("certificatesResolvers.{}.acme.etcdKey", name),
                "needs providers.etcd: its endpoints, user and TLS are how snigate reaches etcd");
    if (r.http_entry_point.empty()) continue;
    const std::string path = fmt::format("certificatesResolvers.{}.acme.httpChallenge.entryPoint", name);
    auto ep = out.entry_points.find(r.http_entry_point);
    if (ep == out.entry_points.end()) {
      std::vector<std::string_view> names;
      for (const auto& [n, unused] : out.entry_points) names.push_back(n);
      std::string msg = fmt::format("unknown entry point \"{}\"", r.http_entry_point);
      if (std::string hint = walk::did_you_mean(r.http_entry_point, names); !hint.empty())
        msg += fmt::format(" (did you mean \"{}\"?)", hint);
      else if (!names.empty())
        msg += fmt::format(": the entry points are {}", fmt::join(names, ", "));
      ctx.error(r.http_entry_point_loc, path, msg);
    } else if (ep->second.admin || ep->second.protocol != Protocol::tcp) {
      ctx.error(r.http_entry_point_loc, path,
                fmt::format("entry point {} must be a plain tcp entry point (no protocol, not the API's): the CA "
                            "asks for the challenge over plain HTTP",
                            r.http_entry_point));
    }
  }
}

}  // namespace snigate::config::detail
