#pragma once
// Matching one node of the tree; explain and the public match() share it.
#include "rule/ast.hpp"

namespace snigate::rule {

bool matches(const Node& node, const Facts& facts);

}  // namespace snigate::rule
