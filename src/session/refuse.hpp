#pragma once
// Why no router took a client, in words an operator can act on.
#include <string>

#include "rule/facts.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {

std::string explain_no_route(const EntryRoutes& entry, const Facts& facts);

}  // namespace snigate::session
