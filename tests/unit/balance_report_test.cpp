// What explain and refusals say about a service's health: the next pick and
// each server's state, and the detail when every server is down.
#include <gtest/gtest.h>

#include "balance/health_report.hpp"

namespace snigate::balance {
namespace {

std::unique_ptr<Service> two_servers(const std::string& name) {
  auto s = std::make_unique<Service>();
  s->name = name;
  s->servers.push_back(Server{"10.0.0.1:80", {}, false});
  s->servers.push_back(Server{"10.0.0.2:80", {}, false});
  s->health_check.emplace();
  return s;
}

TEST(HealthReport, NextPickSkipsADownServer) {
  auto svc = two_servers("web");
  record_check(*svc->servers[0].health, "connect: Connection refused");
  const std::string text = explain_choice(*svc, steady_now());
  EXPECT_NE(text.find("service web: load balancer, round robin over 2 server(s); health check: TCP connect"),
            std::string::npos) << text;
  EXPECT_NE(text.find("   10.0.0.1:80: DOWN (health check: connect: Connection refused)"), std::string::npos) << text;
  EXPECT_NE(text.find("-> 10.0.0.2:80: up (not checked yet)"), std::string::npos) << text;
  EXPECT_NE(text.find("next: 10.0.0.2:80 (its round-robin turn, after skipping the servers that are down)"),
            std::string::npos) << text;
}

TEST(HealthReport, EveryServerDownSaysWhy) {
  auto svc = two_servers("web");
  record_check(*svc->servers[0].health, "connect: Connection refused");
  record_dial(*svc->servers[1].health, PassivePolicy{1, std::chrono::seconds(10)}, "No route to host", steady_now());
  EXPECT_EQ(count_usable(*svc, steady_now()), 0u);
  EXPECT_FALSE(service_usable(*svc, steady_now()));
  const std::string why = down_detail(*svc);
  EXPECT_NE(why.find("every server of service web is down (health check: 10.0.0.1:80: DOWN"), std::string::npos) << why;
  EXPECT_NE(why.find("10.0.0.2:80: OUT (passive health: 1 failed connection(s) in a row, the last: No route to host"),
            std::string::npos) << why;
}

TEST(HealthReport, WeightedShowsWeightsAndDescends) {
  auto a = two_servers("a");
  auto b = two_servers("b");
  Service w;
  w.name = "w";
  w.children = {a.get(), b.get()};
  w.weights = {1, 3};
  const std::string text = explain_choice(w, steady_now());
  EXPECT_NE(text.find("service w: weighted (smooth weighted round robin)"), std::string::npos) << text;
  EXPECT_NE(text.find("   a weight 1"), std::string::npos) << text;
  EXPECT_NE(text.find("-> b weight 3"), std::string::npos) << text;
  EXPECT_NE(text.find("service b: load balancer"), std::string::npos) << text;
  EXPECT_EQ(text.find("service a: load balancer"), std::string::npos) << text;
}

}  // namespace
}  // namespace snigate::balance
