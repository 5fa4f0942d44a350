#pragma once
// explain's result as /api/explain answers it.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "explain/result.hpp"

namespace snigate::explain {

// A name as the API shows it, with its provider as Traefik's API does:
// "db@file"; a name that has one already ("whoami@internal") as it is.
std::string api_name(std::string_view name);
// The provider of a name: "file" for "db", "etcd" for "db@etcd".
std::string api_provider(std::string_view name);

// The query, the client, the chosen router (or null) with its middlewares and
// service, every other router with why it did not take the client, the
// outcome, and "text": the CLI's answer.
nlohmann::ordered_json to_json(const Result& r);

}  // namespace snigate::explain
