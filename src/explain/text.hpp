#pragma once
// explain's result as `snigate explain` prints it.
#include <string>

#include "explain/result.hpp"

namespace snigate::explain {

std::string to_text(const Result& r);

}  // namespace snigate::explain
