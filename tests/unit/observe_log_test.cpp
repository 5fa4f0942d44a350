// observe/log: what a client chose is escaped in both logs.
#include <gtest/gtest.h>

#include <string>

#include "observe/log.hpp"

namespace snigate::observe {
namespace {

using namespace std::string_literals;

TEST(ObserveLog, PrintableKeepsPlainTextAsItIs) {
  EXPECT_EQ(printable("db.example.com: no route (user alice@db)"), "db.example.com: no route (user alice@db)");
  EXPECT_EQ(printable(""), "");
}

// An SNI or user name with a newline must not start a forged log line, and an
// escape sequence must not reach the operator's terminal.
TEST(ObserveLog, PrintableEscapesEveryByteAClientCouldAbuse) {
  EXPECT_EQ(printable("a\nINFO forged line"), "a\\nINFO forged line");
  EXPECT_EQ(printable("a\r\tb"), "a\\r\\tb");
  EXPECT_EQ(printable("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(printable("nul\0byte"s), "nul\\x00byte");
  EXPECT_EQ(printable("del\x7f"), "del\\x7f");
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf\\xc3\\xa9");
  // The backslash itself is escaped, so "\\n" in the log is never ambiguous.
  EXPECT_EQ(printable("a\\nb"), "a\\\\nb");
  const std::string out = printable("x\n\r\x1b\x7f\xff");
  for (unsigned char c : out) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(c);
}

TEST(ObserveLog, JsonEscapeKeepsEveryLineOneObject) {
  EXPECT_EQ(json_escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(json_escape("\x01\xff"), "\\u0001\\u00ff");
}

}  // namespace
}  // namespace snigate::observe
