#pragma once
// Fingerprints of YAML subtrees, so that a reload can tell which routers are
// written exactly as in the configuration that serves, and reuse what was
// compiled from them instead of reading them again.
#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>

#include "config/yaml_doc.hpp"

namespace snigate::config {

// What a serving configuration lends the next load: the fingerprint of
// everything but its routers, and each router's own (by its name with the
// provider suffix, "r" or "r@etcd"). A router may be taken over only when
// both match: its meaning depends on the services, middlewares and TLS
// options around it, and they are in the first.
struct Reuse {
  std::uint64_t context = 0;  // 0: nothing may be reused
  std::unordered_map<std::string_view, std::uint64_t> routers;
};

// Equal for subtrees of equal content (kinds, keys in order, scalars), on
// whatever lines they are and through whichever aliases. 0 for a subtree it
// will not vouch for: one that nests too deep or is too big (a cycle through
// an anchor, an alias bomb), which is then always read again.
std::uint64_t fingerprint(const yaml::Node& n);

// The same for a document less some of its subtrees (the routers maps), each
// of which counts as an empty placeholder.
std::uint64_t fingerprint_except(const yaml::Node& root, std::span<const yaml::Node> skip);

// Folds a value into a running fingerprint (order matters).
std::uint64_t fingerprint_combine(std::uint64_t seed, std::uint64_t value);

}  // namespace snigate::config
