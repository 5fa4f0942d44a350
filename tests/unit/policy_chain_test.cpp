// The allow list (IPv4, IPv6, IPv4-mapped), chains in order, and the
// in-flight slots a chain takes and gives back.
#include <gtest/gtest.h>

#include <variant>

#include "policy/chain.hpp"
#include "rule/ip_range.hpp"

namespace snigate::policy {
namespace {

IpAddress ip(std::string_view text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(IpAddress{});
}

std::vector<rule::IpRange> ranges(std::initializer_list<std::string_view> texts) {
  std::vector<rule::IpRange> out;
  for (auto t : texts) out.push_back(std::get<rule::IpRange>(rule::parse_ip_range(t)));
  return out;
}

config::Middleware allow_list(std::string name, std::vector<std::string> source_range) {
  config::Middleware m;
  m.name = std::move(name);
  m.kind = Kind::ip_allow_list;
  m.source_range = std::move(source_range);
  return m;
}

config::Middleware in_flight(std::string name, int amount) {
  config::Middleware m;
  m.name = std::move(name);
  m.kind = Kind::in_flight_conn;
  m.amount = amount;
  return m;
}

TEST(PolicyAllowList, Ipv4) {
  const auto r = ranges({"10.0.0.0/8", "192.0.2.7"});
  EXPECT_TRUE(allows(r, ip("10.1.2.3")));
  EXPECT_TRUE(allows(r, ip("192.0.2.7")));
  EXPECT_FALSE(allows(r, ip("192.0.2.8")));
  EXPECT_FALSE(allows(r, ip("11.0.0.1")));
}

TEST(PolicyAllowList, Ipv6) {
  const auto r = ranges({"2001:db8::/32", "::1"});
  EXPECT_TRUE(allows(r, ip("2001:db8:1::5")));
  EXPECT_TRUE(allows(r, ip("::1")));
  EXPECT_FALSE(allows(r, ip("2001:db9::1")));
  EXPECT_FALSE(allows(r, ip("10.0.0.1"))) << "an IPv6 range does not hold IPv4 clients";
}

TEST(PolicyAllowList, MappedClientIsComparedAsIpv4) {
  const auto v4 = ranges({"127.0.0.0/8"});
  EXPECT_TRUE(allows(v4, ip("::ffff:127.0.0.2")));
  EXPECT_FALSE(allows(v4, ip("::ffff:128.0.0.2")));
  EXPECT_FALSE(allows(ranges({"::/0"}), ip("::ffff:127.0.0.2"))) << "::/0 is every IPv6 client, as in Go";
  EXPECT_TRUE(allows(ranges({"::ffff:10.0.0.0/104"}), ip("10.9.9.9"))) << "a block in the mapped space is IPv4";
}

TEST(PolicyAllowList, EmptyRangesAllowNobody) { EXPECT_FALSE(allows({}, ip("127.0.0.1"))); }

TEST(PolicyChain, FirstRefusalWinsAndGivesBackSlots) {
  auto slots = build(in_flight("chain-test-slots", 5));
  auto office = build(allow_list("chain-test-office", {"10.0.0.0/8"}));
  const Middleware* chain[] = {slots.get(), office.get()};
  std::vector<InFlightTicket> tickets;
  const auto now = std::chrono::steady_clock::now();
  EXPECT_EQ(run_chain(chain, ip("192.0.2.1"), now, tickets), office.get());
  EXPECT_TRUE(tickets.empty());
  EXPECT_EQ(slots->in_flight->count(ip("192.0.2.1")), 0) << "the slot taken before the refusal is given back";
  EXPECT_EQ(run_chain(chain, ip("10.0.0.1"), now, tickets), nullptr);
  ASSERT_EQ(tickets.size(), 1u);
  EXPECT_EQ(slots->in_flight->count(ip("10.0.0.1")), 1);
  tickets.clear();
  EXPECT_EQ(slots->in_flight->count(ip("10.0.0.1")), 0);
  EXPECT_EQ(slots->in_flight->tracked(), 0u) << "an IP whose count is 0 is not kept";
}

TEST(PolicyChain, AmountZeroRefusesEveryone) {
  auto none = build(in_flight("chain-test-none", 0));
  const Middleware* chain[] = {none.get()};
  std::vector<InFlightTicket> tickets;
  EXPECT_EQ(run_chain(chain, ip("127.0.0.1"), std::chrono::steady_clock::now(), tickets), none.get());
  EXPECT_EQ(none->in_flight->tracked(), 0u);
}

TEST(PolicyChain, StateIsSharedByNameAcrossBuilds) {
  auto before = build(in_flight("chain-test-reload", 1));
  const Middleware* chain[] = {before.get()};
  std::vector<InFlightTicket> held;
  ASSERT_EQ(run_chain(chain, ip("10.0.0.1"), std::chrono::steady_clock::now(), held), nullptr);
  // A reload builds the middleware again while the old one is in use.
  auto after = build(in_flight("chain-test-reload", 1));
  before.reset();
  EXPECT_EQ(after->in_flight->count(ip("10.0.0.1")), 1) << "the reload keeps the count";
  const Middleware* chain2[] = {after.get()};
  std::vector<InFlightTicket> more;
  EXPECT_EQ(run_chain(chain2, ip("10.0.0.1"), std::chrono::steady_clock::now(), more), after.get());
  held.clear();
  EXPECT_EQ(after->in_flight->count(ip("10.0.0.1")), 0) << "a ticket from before the reload gives back its slot";
}

TEST(PolicyChain, TicketOutlivesItsMiddleware) {
  std::vector<InFlightTicket> held;
  std::weak_ptr<InFlightCounts> counts;
  {
    auto m = build(in_flight("chain-test-removed", 1));
    counts = m->in_flight;
    const Middleware* chain[] = {m.get()};
    ASSERT_EQ(run_chain(chain, ip("10.0.0.1"), std::chrono::steady_clock::now(), held), nullptr);
  }
  EXPECT_FALSE(counts.expired()) << "an open connection keeps the counts";
  held.clear();
  EXPECT_TRUE(counts.expired()) << "removed from the configuration and no connection left: freed";
}

}  // namespace
}  // namespace snigate::policy
