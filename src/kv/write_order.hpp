#pragma once
// The order `snigate kv put` writes in. A large configuration takes many
// transactions, and every instance applies each one it sees; so each
// transaction holds whole entities (all of a router's keys), and what is
// referred to comes before what refers to it: TLS, transports, middlewares,
// services, then routers (deletions the other way round). Every state the
// instances see on the way is then a configuration that loads.
#include <cstddef>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "kv/etcd_json.hpp"

namespace snigate::kv {

std::vector<std::vector<KvOp>> write_batches(std::string_view root, const config::KvPairs& puts,
                                             const std::vector<std::string>& removes, std::size_t max_ops);

}  // namespace snigate::kv
