// kv/write_order: the transactions of kv put hold whole entities, what is
// referred to before what refers to it.
#include <gtest/gtest.h>

#include "kv/write_order.hpp"

namespace snigate::kv {
namespace {

std::vector<std::string> keys_of(const std::vector<KvOp>& batch) {
  std::vector<std::string> out;
  for (const KvOp& op : batch) out.push_back(op.key);
  return out;
}

TEST(KvWriteOrder, ServicesBeforeRoutersAndEntitiesWhole) {
  config::KvPairs puts;
  for (const char* r : {"a", "b"})
    for (const char* k : {"rule", "service", "tls", "entrypoints/0"}) puts[std::string("fleet/x/tcp/routers/") + r + "/" + k] = "v";
  puts["fleet/x/tcp/services/s/loadbalancer/servers/0/address"] = "v";
  puts["fleet/x/tcp/services/s/loadbalancer/servers/1/address"] = "v";
  puts["fleet/x/tls/options/o/minversion"] = "v";
  const auto batches = write_batches("fleet/x", puts, {}, 5);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(keys_of(batches[0]),
            (std::vector<std::string>{"fleet/x/tls/options/o/minversion",
                                      "fleet/x/tcp/services/s/loadbalancer/servers/0/address",
                                      "fleet/x/tcp/services/s/loadbalancer/servers/1/address"}));
  EXPECT_EQ(batches[1].size(), 4u);  // router a, whole: it would not fit after the service
  EXPECT_EQ(batches[1][0].key, "fleet/x/tcp/routers/a/entrypoints/0");
  EXPECT_EQ(batches[2].size(), 4u);  // router b
}

TEST(KvWriteOrder, DeletionsRoutersFirstAndAfterThePuts) {
  const auto batches = write_batches("traefik", {{"traefik/tcp/routers/new/rule", "v"}},
                                     {"traefik/tcp/services/old/loadbalancer/servers/0/address",
                                      "traefik/tcp/routers/old/rule"},
                                     100);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(keys_of(batches[0]), (std::vector<std::string>{"traefik/tcp/routers/new/rule", "traefik/tcp/routers/old/rule",
                                                           "traefik/tcp/services/old/loadbalancer/servers/0/address"}));
  EXPECT_EQ(batches[0][1].kind, KvOp::Kind::remove);
}

TEST(KvWriteOrder, AnEntityLargerThanATransactionIsSplit) {
  config::KvPairs puts;
  for (int i = 0; i < 7; ++i) puts["traefik/tcp/services/big/loadbalancer/servers/" + std::to_string(i) + "/address"] = "v";
  const auto batches = write_batches("traefik", puts, {}, 3);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].size(), 1u);
}

}  // namespace
}  // namespace snigate::kv
