// wire/mysql_kill: which command payloads are a KILL by id, and rewriting the id.
#include <gtest/gtest.h>

#include <string>

#include "wire/mysql_kill.hpp"

namespace snigate::wire::mysql {
namespace {

Bytes query(std::string_view text) {
  Bytes p{COM_QUERY};
  p.insert(p.end(), text.begin(), text.end());
  return p;
}

std::string text_of(const Bytes& payload) { return std::string(payload.begin() + 1, payload.end()); }

TEST(WireMysqlKill, RecognisesEachFormAndCase) {
  for (const char* text : {"KILL 4294967294", "kill 4294967294", "KiLl QuErY 4294967294", "KILL QUERY 4294967294;",
                           "  KILL\tCONNECTION\n4294967294 ; \n", "kill connection 4294967294", "KILL HARD QUERY 4294967294",
                           "kill soft 4294967294"}) {
    const auto k = parse_kill(query(text));
    ASSERT_TRUE(k) << text;
    EXPECT_EQ(k->id, 4294967294u) << text;
    EXPECT_FALSE(k->process_kill);
  }
}

TEST(WireMysqlKill, RewritesOnlyTheDigits) {
  const Bytes p = query("KILL QUERY 4294967294;");
  const auto k = parse_kill(p);
  ASSERT_TRUE(k);
  EXPECT_EQ(text_of(with_kill_id(p, *k, 17)), "KILL QUERY 17;");
}

TEST(WireMysqlKill, ComProcessKill) {
  const Bytes p{COM_PROCESS_KILL, 0xfe, 0xff, 0xff, 0xff};
  const auto k = parse_kill(p);
  ASSERT_TRUE(k);
  EXPECT_TRUE(k->process_kill);
  EXPECT_EQ(k->id, 0xfffffffeu);
  EXPECT_EQ(with_kill_id(p, *k, 0x01020304), (Bytes{COM_PROCESS_KILL, 0x04, 0x03, 0x02, 0x01}));
  EXPECT_FALSE(parse_kill(Bytes{COM_PROCESS_KILL, 1, 0, 0}));        // cut short
  EXPECT_FALSE(parse_kill(Bytes{COM_PROCESS_KILL, 1, 0, 0, 0, 0}));  // too long
}

TEST(WireMysqlKill, AnythingElseIsNotAKill) {
  for (const char* text : {"SELECT 'KILL 4294967294'", "KILL 4294967294; SELECT 1", "SELECT 1; KILL 4294967294",
                           "/* x */ KILL 4294967294", "KILL QUERY ID 4294967294", "KILL USER alice", "KILL",
                           "KILL 42x", "KILLQUERY 5", "KILL QUERY5", "KILL 4294967294 -- why", "KILL -5",
                           "KILL 99999999999999999999", "SKILL 5", "KILL 5;;", "KILL @id"}) {
    EXPECT_FALSE(parse_kill(query(text))) << text;
  }
  EXPECT_FALSE(parse_kill(Bytes{}));
  EXPECT_FALSE(parse_kill(Bytes{0x16, 'K'}));  // COM_STMT_PREPARE: not executed as it comes
  std::string long_text = "KILL " + std::string(kMaxKillPayload, ' ') + "5";
  EXPECT_FALSE(parse_kill(query(long_text)));
}

TEST(WireMysqlKill, LargeIdsAreParsedNotTruncated) {
  const auto k = parse_kill(query("KILL 18446744073709551"));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->id, 18446744073709551u);
}

}  // namespace
}  // namespace snigate::wire::mysql
