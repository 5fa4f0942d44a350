// Smooth weighted round robin: the order of picks, eligibility, and weighted
// services nested in weighted services.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "balance/connect.hpp"

namespace snigate::balance {
namespace {

std::string sequence(std::vector<int> weights, int picks, std::vector<bool> eligible_in = {}) {
  std::vector<std::int64_t> scores(weights.size(), 0);
  std::unique_ptr<bool[]> eligible;
  if (!eligible_in.empty()) {
    eligible = std::make_unique<bool[]>(eligible_in.size());
    for (std::size_t i = 0; i < eligible_in.size(); ++i) eligible[i] = eligible_in[i];
  }
  std::string out;
  for (int i = 0; i < picks; ++i) {
    const std::size_t p = smooth_wrr_pick(weights, scores,
                                          eligible ? std::span<const bool>(eligible.get(), weights.size())
                                                   : std::span<const bool>());
    out += p == kNoPick ? '-' : static_cast<char>('a' + p);
  }
  return out;
}

TEST(SmoothWrr, NginxSequenceForFiveOneOne) {
  EXPECT_EQ(sequence({5, 1, 1}, 7), "aabacaa");
  EXPECT_EQ(sequence({5, 1, 1}, 14), "aabacaaaabacaa");  // the scores are back to zero after each cycle
}

TEST(SmoothWrr, NoBurstsAndExactShares) {
  const std::string s = sequence({3, 1}, 400);
  EXPECT_EQ(std::count(s.begin(), s.end(), 'a'), 300);
  EXPECT_EQ(s.find("aaaa"), std::string::npos);  // never more than three in a row
  EXPECT_EQ(sequence({1, 1, 1}, 6), "abcabc");
}

TEST(SmoothWrr, ZeroWeightAndIneligibleChildrenAreNeverPicked) {
  EXPECT_EQ(sequence({0, 2}, 4), "bbbb");
  EXPECT_EQ(sequence({5, 1, 1}, 4, {false, true, true}), "bcbc");
  EXPECT_EQ(sequence({1, 1}, 2, {false, false}), "--");
  EXPECT_EQ(sequence({0, 0}, 1), "-");
}

TEST(SmoothWrr, PeekDoesNotMoveTheScores) {
  SmoothWrr wrr;
  const std::vector<int> w{2, 1};
  EXPECT_EQ(wrr.peek(w, {}), 0u);
  EXPECT_EQ(wrr.peek(w, {}), 0u);
  EXPECT_EQ(wrr.pick(w, {}), 0u);
  EXPECT_EQ(wrr.peek(w, {}), 1u);
  EXPECT_EQ(wrr.pick(w, {}), 1u);
}

// Services by name; weighted ones point at their children.
struct Services {
  std::map<std::string, std::unique_ptr<Service>> by_name;
  Service& lb(const std::string& name) {
    auto& s = by_name[name];
    s = std::make_unique<Service>();
    s->name = name;
    s->servers.push_back(Server{name + ":1", {}, false});
    return *s;
  }
  Service& weighted(const std::string& name, std::vector<std::pair<std::string, int>> children) {
    auto& s = by_name[name];
    s = std::make_unique<Service>();
    s->name = name;
    for (auto& [child, weight] : children) {
      s->children.push_back(by_name.at(child).get());
      s->weights.push_back(weight);
    }
    return *s;
  }
};

std::string picks(const Service& top, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    std::string why;
    const Service* lb = choose_load_balancer(top, why);
    out += lb ? lb->name : "-";
  }
  return out;
}

TEST(SmoothWrr, NestedWeightedServices) {
  Services s;
  s.lb("a");
  s.lb("b");
  s.lb("c");
  s.weighted("bc", {{"b", 1}, {"c", 1}});
  const Service& top = s.weighted("top", {{"a", 1}, {"bc", 1}});
  EXPECT_EQ(picks(top, 8), "abacabac");
}

TEST(SmoothWrr, HealthCheckSkipsChildrenWhoseServersAreDown) {
  Services s;
  s.lb("a");
  Service& b = s.lb("b");
  Service& top = s.weighted("top", {{"a", 3}, {"b", 1}});
  b.servers[0].health->checked_up = false;
  EXPECT_EQ(picks(top, 8), "aabaaaba");  // without weighted.healthCheck b keeps its share
  top.skip_down_children = true;
  EXPECT_EQ(picks(top, 4), "aaaa");
  s.by_name.at("a")->servers[0].health->checked_up = false;
  std::string why;
  EXPECT_EQ(choose_load_balancer(top, why), nullptr);
  EXPECT_NE(why.find("every service of weighted service top is down"), std::string::npos) << why;
}

}  // namespace
}  // namespace snigate::balance
