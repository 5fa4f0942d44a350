// The YAML reader (config/yaml_doc) on arbitrary bytes: it returns a tree or
// a syntax error, never crashes; every node the tree reaches is readable.
// Aliases can make cycles, so the walk is bounded by depth, as the
// configuration walker's is by its key tables.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/yaml_doc.hpp"

namespace {

using snigate::config::yaml::Kind;
using snigate::config::yaml::Node;

void visit(const Node& n, int depth, std::size_t& seen) {
  if (depth > 16 || ++seen > 100000) return;
  if (n.line() < 0) std::abort();  // every node of a tree has a line
  (void)n.scalar();
  (void)n.is_flow();
  switch (n.kind()) {
    case Kind::list:
      for (std::size_t i = 0; i < n.size(); ++i) visit(n[i], depth + 1, seen);
      break;
    case Kind::map:
      for (std::size_t i = 0; i < n.size(); ++i) {
        visit(n.key(i), depth + 1, seen);
        visit(n.value(i), depth + 1, seen);
      }
      break;
    case Kind::undefined: std::abort();  // only missing children are undefined
    default: break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = snigate::config::yaml::parse(text);
  if (const auto* e = std::get_if<snigate::config::yaml::SyntaxError>(&parsed)) {
    if (e->line < 1 || e->message.empty()) std::abort();
    return 0;
  }
  std::size_t seen = 0;
  visit(std::get<0>(parsed)->root(), 0, seen);
  return 0;
}
