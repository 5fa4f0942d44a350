#include "explain/json.hpp"

#include "explain/text.hpp"

namespace snigate::explain {
namespace {

using json = nlohmann::ordered_json;

const char* mode_name(Mode m) {
  return m == Mode::plain ? "plain" : m == Mode::passthrough ? "passthrough" : "terminate";
}

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::match: return "match";
    case Outcome::refused_by_middleware: return "refusedByMiddleware";
    case Outcome::refused_plaintext: return "refusedPlaintext";
    case Outcome::no_match: return "noMatch";
    case Outcome::bad_query: break;
  }
  return "badQuery";
}

json query_json(const Query& q) {
  return {{"entryPoint", q.entry_point}, {"sni", q.sni},   {"alpn", q.alpn},
          {"clientIP", q.client_ip},    {"user", q.user}, {"plain", q.plain}};
}

json client_json(const Client& c) {
  return {{"entryPoint", c.entry_point}, {"address", c.address},       {"protocol", config::protocol_name(c.protocol)},
          {"plain", c.plain},            {"tls", c.tls},               {"sni", c.sni},
          {"alpn", c.alpn},              {"clientIP", c.client_ip},   {"nameNote", c.name_note},
          {"serverFirst", c.server_first}};
}

json router_json(const RouterVerdict& v) {
  json j = {{"name", api_name(v.name)}, {"rule", v.rule}, {"priority", v.priority}, {"priorityFrom", v.priority_from}};
  if (!v.chosen) {
    j["why"] = v.why_not;
    return j;
  }
  j["service"] = api_name(v.service);
  j["mode"] = mode_name(v.mode);
  j["certificate"] = nullptr;
  if (v.certificate)
    j["certificate"] = {{"origin", v.certificate->origin},
                        {"match", v.certificate->how},
                        {"refusedBySniStrict", v.certificate->refused_by_sni_strict}};
  if (v.certificate && !v.certificate->acme.empty()) j["certificate"]["acme"] = v.certificate->acme;
  return j;
}

// The chosen router with its middlewares and its service's servers.
json chosen_json(const Result& r, const RouterVerdict& v) {
  json j = router_json(v);
  j["middlewares"] = json::array();
  for (const MiddlewareCheck& m : r.middlewares)
    j["middlewares"].push_back(
        {{"name", api_name(m.name)}, {"type", m.kind}, {"what", m.what}, {"refuses", m.refuses}});
  j["servers"] = json::array();
  for (const ServerState& s : r.servers)
    j["servers"].push_back({{"address", s.address}, {"status", s.usable ? "UP" : "DOWN"}});
  j["serviceChoice"] = json::array();
  std::string_view lines = r.service_choice;
  while (!lines.empty()) {
    const std::size_t nl = lines.find('\n');
    j["serviceChoice"].push_back(std::string(lines.substr(0, nl)));
    lines.remove_prefix(nl == std::string_view::npos ? lines.size() : nl + 1);
  }
  return j;
}

}  // namespace

std::string api_name(std::string_view name) {
  return std::string(name) + (name.find('@') == std::string_view::npos ? "@file" : "");
}

std::string api_provider(std::string_view name) {
  const auto at = name.rfind('@');
  return at == std::string_view::npos ? "file" : std::string(name.substr(at + 1));
}

json to_json(const Result& r) {
  json j = {{"query", query_json(r.query)}, {"outcome", outcome_name(r.outcome)}};
  if (r.outcome == Outcome::bad_query) j["message"] = r.error;
  j["client"] = r.outcome == Outcome::bad_query ? json(nullptr) : client_json(r.client);
  const RouterVerdict* chosen = r.chosen();
  j["router"] = chosen ? chosen_json(r, *chosen) : json(nullptr);
  j["others"] = json::array();
  for (const RouterVerdict& v : r.routers)
    if (!v.chosen) j["others"].push_back(router_json(v));
  j["unlisted"] = json::array();
  for (const Unlisted& u : r.unlisted) j["unlisted"].push_back({{"count", u.count}, {"why", describe(u, r.client.sni)}});
  j["routerCount"] = r.router_count;
  j["refusal"] = r.refusal.empty() ? json(nullptr) : json(r.refusal);
  j["text"] = to_text(r);
  return j;
}

}  // namespace snigate::explain
