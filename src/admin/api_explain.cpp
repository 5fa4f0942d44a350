// /api/explain: `snigate explain` over HTTP, against the Snapshot now serving
// (so with the health checks' verdicts, which the CLI cannot know).
#include <fmt/format.h>

#include "admin/api_items.hpp"
#include "explain/explain.hpp"
#include "explain/json.hpp"

namespace snigate::admin {
namespace {

// "h2,http/1.1" as the list of names; empty items are dropped.
std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    if (comma != 0) out.emplace_back(text.substr(0, comma));
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
  }
  return out;
}

// plain, plain=true, plain=1: a client that does not start TLS.
bool parse_flag(std::string_view v, bool& out) {
  if (v.empty() || v == "true" || v == "1") out = true;
  else if (v == "false" || v == "0") out = false;
  else return false;
  return true;
}

}  // namespace

Response explain_answer(const Request& req, const session::Snapshot& snap) {
  explain::Query q;
  q.entry_point = req.param("entrypoint");
  q.sni = req.param("sni");
  q.alpn = split_commas(req.param("alpn"));
  q.client_ip = req.param("clientIP");
  q.user = req.param("user");
  if (req.has("plain") && !parse_flag(req.param("plain"), q.plain))
    return error_response(400, fmt::format("plain: \"{}\" is not true or false", req.param("plain")));
  if (req.has("all") && !parse_flag(req.param("all"), q.all))
    return error_response(400, fmt::format("all: \"{}\" is not true or false", req.param("all")));
  const explain::Result result = explain::explain(snap, q);
  if (result.outcome == explain::Outcome::bad_query) return error_response(400, result.error);
  return json_response(explain::to_json(result));
}

}  // namespace snigate::admin
