// parse_duration: Go duration syntax, or a bare number of seconds (Traefik).
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace snigate::config {
namespace {

long long ms(std::string_view text) {
  bool ok = false;
  Duration d = parse_duration(text, &ok);
  EXPECT_TRUE(ok) << text;
  return d.count();
}

bool bad(std::string_view text) {
  bool ok = true;
  parse_duration(text, &ok);
  return !ok;
}

TEST(ConfigDuration, GoSyntax) {
  EXPECT_EQ(ms("10s"), 10'000);
  EXPECT_EQ(ms("1m30s"), 90'000);
  EXPECT_EQ(ms("250ms"), 250);
  EXPECT_EQ(ms("1h"), 3'600'000);
  EXPECT_EQ(ms("1h2m3s4ms"), 3'723'004);
  EXPECT_EQ(ms("1.5s"), 1'500);
  EXPECT_EQ(ms(".5m"), 30'000);
  EXPECT_EQ(ms("2000us"), 2);
  EXPECT_EQ(ms("2000\xC2\xB5s"), 2);
  EXPECT_EQ(ms("5000000ns"), 5);
  EXPECT_EQ(ms("0"), 0);
  EXPECT_EQ(ms("0s"), 0);
  EXPECT_EQ(ms("+3s"), 3'000);
  EXPECT_EQ(ms("-3s"), -3'000);
}

TEST(ConfigDuration, BareIntegerIsSeconds) {
  EXPECT_EQ(ms("42"), 42'000);
  EXPECT_EQ(ms("180"), 180'000);
  EXPECT_EQ(ms("-1"), -1'000);
}

TEST(ConfigDuration, Rejects) {
  EXPECT_TRUE(bad(""));
  EXPECT_TRUE(bad("s"));
  EXPECT_TRUE(bad("10"
                  "x"));
  EXPECT_TRUE(bad("1.5"));   // Go: missing unit
  EXPECT_TRUE(bad("10 s"));
  EXPECT_TRUE(bad("1d"));    // Go has no days
  EXPECT_TRUE(bad("10S"));
  EXPECT_TRUE(bad("ten seconds"));
  EXPECT_TRUE(bad("-"));
  EXPECT_TRUE(bad("1s-"));
  EXPECT_TRUE(bad("."));
  EXPECT_TRUE(bad("99999999999h"));
}

TEST(ConfigDuration, NullOkPointerIsAllowed) {
  EXPECT_EQ(parse_duration("2s", nullptr).count(), 2'000);
}

}  // namespace
}  // namespace snigate::config
