#include "config/fingerprint.hpp"

#include <functional>

namespace snigate::config {

namespace {

// splitmix64's finaliser: every input bit reaches every output bit.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A subtree's walk with limits: a router is a few dozen nodes; anything far
// beyond is not worth vouching for.
struct Walk {
  static constexpr int kMaxDepth = 64;
  std::size_t budget = 1'000'000;
  std::span<const yaml::Node> skip;
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  bool ok = true;

  void add(std::uint64_t v) { h = mix(h ^ v) + 0x9e3779b97f4a7c15ULL; }

  void node(const yaml::Node& n, int depth) {
    if (!ok) return;
    if (depth > kMaxDepth || budget-- == 0) {
      ok = false;
      return;
    }
    for (const yaml::Node& s : skip)
      if (n.same(s)) {
        add(0x5c1bULL);
        return;
      }
    add(static_cast<std::uint64_t>(n.kind()));
    switch (n.kind()) {
      case yaml::Kind::scalar:
        add(std::hash<std::string_view>{}(n.scalar()));
        add(n.scalar().size());
        break;
      case yaml::Kind::list:
        add(n.size() * 2 + n.is_flow());
        for (std::size_t i = 0; i < n.size(); ++i) node(n[i], depth + 1);
        break;
      case yaml::Kind::map:
        add(n.size() * 2 + n.is_flow());
        for (std::size_t i = 0; i < n.size(); ++i) {
          node(n.key(i), depth + 1);
          node(n.value(i), depth + 1);
        }
        break;
      default:
        break;
    }
  }
};

}  // namespace

std::uint64_t fingerprint_combine(std::uint64_t seed, std::uint64_t value) {
  return mix(seed ^ mix(value + 0x9e3779b97f4a7c15ULL));
}

std::uint64_t fingerprint(const yaml::Node& n) { return fingerprint_except(n, {}); }

std::uint64_t fingerprint_except(const yaml::Node& root, std::span<const yaml::Node> skip) {
  Walk w;
  w.skip = skip;
  w.node(root, 0);
  if (!w.ok) return 0;
  return w.h == 0 ? 1 : w.h;
}

}  // namespace snigate::config
