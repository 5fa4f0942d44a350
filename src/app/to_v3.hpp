#pragma once
// `snigate check --to-v3 FILE`: FILE as written, with every rule in Traefik v2
// syntax rewritten to v3 and its `ruleSyntax: v2` line removed. Only those
// spots change, so comments and layout stay.
#include <ostream>
#include <string>

#include "config/config.hpp"

namespace snigate::app {

// Prints the rewritten file to `out`. When a rule cannot be rewritten safely
// in place, says where and why on `err`, prints nothing to `out`, and returns 1.
int print_v3(const std::string& path, const config::Static& stat, std::ostream& out, std::ostream& err);

}  // namespace snigate::app
