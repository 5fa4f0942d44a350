// session/conn.hpp: the small helpers every connection uses.
#include <gtest/gtest.h>

#include "session/conn.hpp"

namespace snigate::session {
namespace {

TEST(SessionConn, LowerAsciiTouchesOnlyAToZ) {
  EXPECT_EQ(lower_ascii("Rate.BENCH.test"), "rate.bench.test");
  EXPECT_EQ(lower_ascii("a-Z_0.9@[]`{"), "a-z_0.9@[]`{");  // the bytes around A-Z stay
  EXPECT_EQ(lower_ascii("\xc3\x89T\xc3\xa9"), "\xc3\x89t\xc3\xa9");  // UTF-8 bytes stay
  EXPECT_EQ(lower_ascii(""), "");
}

}  // namespace
}  // namespace snigate::session
