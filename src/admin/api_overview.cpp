// /api/overview, /api/version and /api/rawdata: the summaries Traefik's own
// tools ask for first.
#include "admin/api_items.hpp"

namespace snigate::admin {
namespace {

json zero_section() { return {{"total", 0}, {"warnings", 0}, {"errors", 0}}; }

json counts(const std::vector<Item>& items) {
  int warnings = 0;
  int errors = 0;
  for (const Item& i : items) {
    warnings += i.status == "warning";
    errors += i.status == "disabled";
  }
  return {{"total", items.size()}, {"warnings", warnings}, {"errors", errors}};
}

json by_name(std::vector<Item> items) {
  json j = json::object();
  // Names are unique: appending skips the search that j[name] makes of an
  // ordered object, which at 100,000 routers took seconds.
  auto& object = j.get_ref<json::object_t&>();
  object.reserve(items.size());
  for (Item& i : items) {
    json body = i.take_body();
    // rawdata keys each object by its name instead of carrying it.
    body.erase("name");
    body.erase("provider");
    object.emplace_back(std::move(i.name), std::move(body));
  }
  return j;
}

// Traefik's spelling of the providers configured. Without etcd the static
// file's own tcp/tls parts count as the file provider's (their names are @file).
json providers(const config::Static& stat) {
  json out = json::array();
  if (!stat.file_filename.empty() || !stat.file_directory.empty() || !stat.etcd) out.push_back("File");
  if (stat.etcd) out.push_back("Etcd");
  return out;
}

}  // namespace

Response overview(const State& state, const session::Snapshot& snap) {
  const json http = {{"routers", zero_section()}, {"services", zero_section()}, {"middlewares", zero_section()}};
  const json tcp = {{"routers", counts(router_items(snap))},
                    {"services", counts(service_items(snap))},
                    {"middlewares", counts(middleware_items(snap))}};
  const json udp = {{"routers", zero_section()}, {"services", zero_section()}};
  const json features = {{"tracing", ""},
                         {"metrics", state.stat.prometheus ? "Prometheus" : ""},
                         {"accessLog", state.stat.access_log}};
  return json_response(
      {{"http", http}, {"tcp", tcp}, {"udp", udp}, {"features", features}, {"providers", providers(state.stat)}});
}

Response version(const State& state) {
  return json_response({{"Version", state.version}, {"Codename", "snigate"}, {"startDate", rfc3339(state.started)}});
}

Response rawdata(const session::Snapshot& snap) {
  return json_response({{"tcpRouters", by_name(router_items(snap))},
                        {"tcpServices", by_name(service_items(snap))},
                        {"tcpMiddlewares", by_name(middleware_items(snap))}});
}

}  // namespace snigate::admin
