// Where PostgreSQL cancel requests go: the server that issued the key when a
// terminated session recorded it, else every server of the passthrough
// services that could have issued it.
#include <gtest/gtest.h>

#include "session/pg_cancel.hpp"

namespace snigate::session {
namespace {

namespace wp = wire::postgres;

wp::CancelRequest key(std::uint32_t pid, std::vector<std::uint8_t> secret = {1, 2, 3, 4}) {
  return {pid, std::move(secret)};
}

CancelTarget target(const std::string& address) {
  CancelTarget t;
  t.address = address;
  net::HostPort::parse(address, t.at);
  return t;
}

TEST(CancelKeys, FindsTheServerThatIssuedTheKeyWhileTheSessionLasts) {
  CancelKeys keys;
  CancelTarget found;
  {
    auto entry = keys.add(key(42), target("10.0.0.1:5432"));
    ASSERT_TRUE(keys.find(key(42), found));
    EXPECT_EQ(found.address, "10.0.0.1:5432");
    EXPECT_FALSE(keys.find(key(42, {1, 2, 3, 5}), found)) << "the secret is part of the key";
    EXPECT_FALSE(keys.find(key(43), found));
  }
  EXPECT_FALSE(keys.find(key(42), found)) << "the session ended: its key is gone";
  EXPECT_EQ(keys.size(), 0u);
}

TEST(CancelKeys, LongerProtocol32KeysAreWholeKeys) {
  CancelKeys keys;
  std::vector<std::uint8_t> long_secret(32, 7);
  auto entry = keys.add(key(7, long_secret), target("10.0.0.2:5432"));
  CancelTarget found;
  EXPECT_TRUE(keys.find(key(7, long_secret), found));
  long_secret.back() = 8;
  EXPECT_FALSE(keys.find(key(7, long_secret), found));
}

TEST(CancelKeys, AnEntryMovesWithItsSession) {
  CancelKeys keys;
  CancelKeys::Entry held;
  {
    auto entry = keys.add(key(1), target("10.0.0.1:5432"));
    held = std::move(entry);
  }
  CancelTarget found;
  EXPECT_TRUE(keys.find(key(1), found)) << "the moved-from entry must not erase the key";
  held = keys.add(key(2), target("10.0.0.3:5432"));
  EXPECT_FALSE(keys.find(key(1), found)) << "assigning a new entry releases the old key";
  EXPECT_TRUE(keys.find(key(2), found));
}

struct Entry {
  Service pass, term;
  EntryRoutes routes;

  explicit Entry(config::Protocol protocol) {
    routes.ep.protocol = protocol;
    pass.name = "pass";
    pass.servers = {Server{"10.0.0.1:5432", {}, false}, Server{"10.0.0.2:5432", {}, false}};
    term.name = "term";
    term.servers = {Server{"10.0.0.9:5432", {}, false}};
    Route p;
    p.name = "p";
    p.tls = p.passthrough = true;
    p.service = &pass;
    Route t;
    t.name = "t";
    t.tls = true;
    t.service = &term;
    routes.routes = {p, t};
  }
};

std::vector<std::string> addresses(const std::vector<CancelTarget>& targets) {
  std::vector<std::string> out;
  for (const auto& t : targets) out.push_back(t.address);
  return out;
}

TEST(PassthroughCancelTargets, OnAPostgresEntryPointEveryPassthroughServer) {
  Entry e(config::Protocol::postgres);
  EXPECT_EQ(addresses(passthrough_cancel_targets(e.routes)),
            (std::vector<std::string>{"10.0.0.1:5432", "10.0.0.2:5432"}))
      << "terminated routers' servers never need a blind cancel: snigate saw their keys";
}

TEST(PassthroughCancelTargets, OnATcpEntryPointOnlyServicesThatCarriedPostgres) {
  Entry e(config::Protocol::tcp);
  EXPECT_TRUE(passthrough_cancel_targets(e.routes).empty())
      << "a passthrough service that never took a PostgreSQL client may not be a PostgreSQL server";
  e.pass.postgres_passthrough = true;
  EXPECT_EQ(passthrough_cancel_targets(e.routes).size(), 2u);
}

}  // namespace
}  // namespace snigate::session
