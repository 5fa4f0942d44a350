// Matching a HostSNIRegexp rule runs on every connection: once RE2 has seen a
// name, matching it again allocates nothing. This binary replaces the global
// operator new to count allocations, so it holds no other test.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <string>
#include <variant>
#include <vector>

#include "rule/rule.hpp"

namespace {
long g_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// Not inlined: g++ would otherwise see `new T` paired with free() and warn.
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace snigate::rule {
namespace {

TEST(RuleRegexpAlloc, WarmMatchesDoNotAllocate) {
  std::vector<Rule> rules;
  for (const char* text : {"HostSNIRegexp(`^[a-z0-9-]+\\.tenant\\.example\\.com$`)",
                           "HostSNIRegexp(`(?i)^(db|cache)-[0-9]+\\.internal$`)", "HostSNIRegexp(`example`)",
                           "HostSNIRegexp(`^(a+)+$`)"}) {
    auto parsed = parse(text);
    ASSERT_TRUE(std::holds_alternative<Rule>(parsed)) << text;
    rules.push_back(std::get<Rule>(std::move(parsed)));
  }
  ASSERT_GT(g_allocations, 0) << "the counting operator new is not in use";
  const std::vector<std::string> names = {"a-1.tenant.example.com", "db-7.internal", "www.example.org",
                                          std::string(200, 'a') + "!", "nothing.test"};
  std::vector<Facts> clients(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    clients[i].tls = true;
    clients[i].sni = names[i];
  }
  std::size_t hits = 0;
  for (const Rule& r : rules)
    for (const Facts& f : clients) hits += match(r, f);  // warm-up: RE2 builds its states
  const long before = g_allocations;
  for (int round = 0; round < 100; ++round)
    for (const Rule& r : rules)
      for (const Facts& f : clients) hits += match(r, f);
  const long during = g_allocations - before;
  EXPECT_EQ(during, 0);
  // The tenant name matches its rule and `example`; db-7 and www.example.org one rule each.
  EXPECT_EQ(hits, 101u * 4);
}

}  // namespace
}  // namespace snigate::rule
