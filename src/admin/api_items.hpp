#pragma once
// Shared by the api_*.cpp files: the things the API lists (routers,
// services, ...) as JSON objects with what a list filters on, and the
// answers built from them.
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "admin/http.hpp"
#include "admin/state.hpp"
#include "admin/time_text.hpp"
#include "session/snapshot.hpp"

namespace snigate::admin {

using json = nlohmann::ordered_json;

// One router, service, middleware or entry point.
struct Item {
  std::string name;    // as the API names it: "db@file"
  std::string status;  // enabled, warning or disabled
  std::string rule;    // routers: searched as Traefik does, with the name
  std::string service;                   // routers: what serviceName filters on
  std::vector<std::string> middlewares;  // routers: what middlewareName filters on
  json body;           // the whole object, "name" included; or, when `build` is set, made by it
  // Routers make their object only once on a page: at 100,000 routers a
  // list otherwise builds every object to send a hundred.
  std::function<json()> build;
  json take_body() { return build ? build() : std::move(body); }
};

// Traefik's list answer: search (a substring of the name or rule, any
// case), status, serviceName, middlewareName, page and per_page,
// X-Next-Page; 400 for a bad number or a page past the end.
Response list_response(const Request& req, std::vector<Item> items);
// The item named name, or 404 "<what> not found: name".
Response item_response(std::vector<Item> items, std::string_view name, std::string_view what);
// 200 with the JSON (a newline after it). Text a client chose (an SNI, a
// name in the path) may be any bytes: invalid UTF-8 becomes U+FFFD.
Response json_response(const json& body);
// {"message": message} with the status, as Traefik's API answers errors; safe for any bytes.
Response error_response(int status, std::string_view message);

// As Traefik writes a duration: "10s", "250ms".
std::string duration(config::Duration d);

// A router once, with the entry points it is in, in name order; its Routes
// there differ only in where they sit. A router in none has no entry points.
struct RouterUse {
  const session::Route* route = nullptr;
  std::vector<std::string> entry_points;
};
std::vector<RouterUse> routers_by_name(const session::Snapshot& snap);

std::vector<Item> entry_point_items(const config::Static& stat);
std::vector<Item> router_items(const session::Snapshot& snap);
std::vector<Item> service_items(const session::Snapshot& snap);
std::vector<Item> middleware_items(const session::Snapshot& snap);

// /api/overview, /api/version, /api/rawdata.
Response overview(const State& state, const session::Snapshot& snap);
Response version(const State& state);
Response rawdata(const session::Snapshot& snap);

// /api/explain, /api/connections, /api/refusals.
Response explain_answer(const Request& req, const session::Snapshot& snap);
Response connections_answer(const Request& req, const State& state);
Response refusals_answer(const Request& req);

}  // namespace snigate::admin
