// providers.etcd: where the etcd provider reads its keys, in Traefik's static keys.
#include <fmt/core.h>

#include "config/loader.hpp"

namespace snigate::config::detail {

using walk::Ctx;
using walk::Item;

namespace {

void parse_etcd_tls(Ctx& ctx, const Item& it, config::EtcdTls& out) {
  walk::walk_map(ctx, it, {
    {"ca", [&](const Item& v) { walk::get_file(ctx, v, out.ca); }},
    {"cert", [&](const Item& v) { walk::get_file(ctx, v, out.cert); }},
    {"key", [&](const Item& v) { walk::get_file(ctx, v, out.key); }},
    {"insecureSkipVerify", [&](const Item& v) { walk::get_bool(ctx, v, out.insecure_skip_verify); }},
    walk::rejected(ctx, "caOptional", "removed in Traefik v3; give ca, or insecureSkipVerify"),
  });
  if (out.cert.empty() != out.key.empty())
    ctx.error(it.loc(ctx), it.path, "cert and key go together: give both or neither");
}

void parse_etcd_endpoints(Ctx& ctx, const Item& v, config::EtcdProvider& out) {
  std::vector<std::string> list;
  if (!walk::get_string_list(ctx, v, list)) return;
  if (list.empty()) ctx.error(v.loc(ctx), v.path, "must name at least one etcd endpoint (host:port)");
  for (const std::string& e : list) {
    std::string_view hostport = e;
    for (std::string_view scheme : {"http://", "https://"})
      if (hostport.starts_with(scheme)) hostport.remove_prefix(scheme.size());
    if (std::string why = walk::check_address(hostport, false); !why.empty())
      ctx.error(v.loc(ctx), v.path, fmt::format("endpoint \"{}\": {}", e, why));
  }
  out.endpoints = std::move(list);
}

}  // namespace

// Username and password go together, as etcd's authentication needs both.
void parse_etcd_provider(Ctx& ctx, const Item& it, Static& out) {
  config::EtcdProvider& etcd = out.etcd.emplace();
  etcd.loc = it.loc(ctx);
  walk::walk_map(ctx, it, {
    {"endpoints", [&](const Item& v) { parse_etcd_endpoints(ctx, v, etcd); }},
    {"rootKey", [&](const Item& v) {
       if (walk::get_string(ctx, v, etcd.root_key) && etcd.root_key.empty())
         ctx.error(v.loc(ctx), v.path, "must not be empty (Traefik's default is traefik)");
     }},
    {"username", [&](const Item& v) { walk::get_string(ctx, v, etcd.username); }},
    {"password", [&](const Item& v) { walk::get_string(ctx, v, etcd.password); }},
    {"tls", [&](const Item& v) { parse_etcd_tls(ctx, v, etcd.tls.emplace()); }},
  });
  while (etcd.root_key.size() > 1 && etcd.root_key.back() == '/') etcd.root_key.pop_back();
  if (etcd.username.empty() != etcd.password.empty())
    ctx.error(etcd.loc, it.path, "username and password go together: give both or neither");
}

}  // namespace snigate::config::detail
