#pragma once
// Why no router took a client, in words an operator can act on.
#include <span>
#include <string>

#include "rule/facts.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {

std::string explain_no_route(const EntryRoutes& entry, const Facts& facts);

// Names joined with commas, as the access log and explanations print an
// ALPN list. Runs for every TLS connection: no format machinery.
std::string comma_joined(std::span<const std::string> names);

}  // namespace snigate::session
