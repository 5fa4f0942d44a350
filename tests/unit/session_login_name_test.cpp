// Which name routes a database login: SNI, or user@host when the SNI names
// no host (none, or an IP address as PHP's mysqlnd sends).
#include <gtest/gtest.h>

#include "session/login_name.hpp"

namespace snigate::session {
namespace {

TEST(SessionLoginName, SniWinsWhenItNamesAHost) {
  EXPECT_FALSE(routes_by_user_host("db1.test", "db2.test"));
  EXPECT_FALSE(routes_by_user_host("db1.test", ""));
  // Names that only look like addresses are names.
  EXPECT_FALSE(routes_by_user_host("10.0.0.1.nip.io", "db.test"));
  EXPECT_FALSE(routes_by_user_host("1.2.3", "db.test"));
}

TEST(SessionLoginName, NoSniOrAnAddressGoesByUserHost) {
  EXPECT_TRUE(routes_by_user_host("", "db.test"));
  EXPECT_TRUE(routes_by_user_host("127.0.0.1", "db.test"));
  EXPECT_TRUE(routes_by_user_host("::1", "db.test"));
  EXPECT_TRUE(routes_by_user_host("[::1]", "db.test"));
  EXPECT_TRUE(routes_by_user_host("fe80::1", "db.test"));
}

TEST(SessionLoginName, WithoutAtHostTheSniStands) {
  // An address without user@host is still matched as the name (and likely
  // refused with "no route for 127.0.0.1", which says what the client sent).
  EXPECT_FALSE(routes_by_user_host("127.0.0.1", ""));
  EXPECT_FALSE(routes_by_user_host("", ""));
}

}  // namespace
}  // namespace snigate::session
