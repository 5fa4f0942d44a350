#pragma once
// What an ACME resolver holds, or is doing, for one name: for snigate explain
// and the API. In the running gateway it asks the ACME thread; from the
// command line it reads the resolver's storage.
#include <string>

#include "config/config.hpp"

namespace snigate::acme {

std::string explain_name(const config::AcmeResolver& resolver, const std::string& name);

}  // namespace snigate::acme
