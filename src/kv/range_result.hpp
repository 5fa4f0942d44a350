#pragma once
#include <cstdint>

#include "config/config.hpp"

namespace snigate::kv {

// One consistent read of a prefix.
struct RangeResult {
  config::KvPairs pairs;      // every key under the prefix
  std::int64_t revision = 0;  // the store's revision of this read (header.revision)
};

}  // namespace snigate::kv
