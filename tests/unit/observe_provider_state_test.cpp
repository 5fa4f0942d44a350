// observe/provider_state: what a watching provider reports for /metrics.
#include <gtest/gtest.h>

#include "observe/provider_state.hpp"

namespace snigate::observe {
namespace {

TEST(ObserveProviderState, ReportsAreKeptByProvider) {
  set_provider_watching("etcd", true);
  set_provider_seen("etcd", 42);
  set_provider_applied("etcd", 40);
  set_provider_watching("other", false);
  const auto states = provider_states();
  ASSERT_EQ(states.count("etcd"), 1u);
  EXPECT_TRUE(states.at("etcd").watching);
  EXPECT_EQ(states.at("etcd").seen, 42);
  EXPECT_EQ(states.at("etcd").applied, 40);
  EXPECT_FALSE(states.at("other").watching);
  EXPECT_EQ(states.at("other").seen, 0);
  set_provider_watching("etcd", false);
  EXPECT_FALSE(provider_states().at("etcd").watching);
  EXPECT_EQ(provider_states().at("etcd").seen, 42);  // the rest stays
}

}  // namespace
}  // namespace snigate::observe
