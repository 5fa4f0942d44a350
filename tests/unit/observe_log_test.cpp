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
  EXPECT_EQ(json_escape("\x01\x7f\xff"), "\\u0001\\u007f\\u00ff");
}

// A UTF-8 name reads back as the client sent it; bytes that are not UTF-8
// are escaped one by one.
TEST(ObserveLog, JsonEscapeKeepsWellFormedUtf8) {
  EXPECT_EQ(json_escape("caf\xc3\xa9.test"), "caf\xc3\xa9.test");
  EXPECT_EQ(json_escape("\xe2\x82\xac \xf0\x9f\x98\x80"), "\xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(json_escape("\xc2\x85"), "\\u0085") << "a C1 control, as its code point";
  EXPECT_EQ(json_escape("caf\xc3"), "caf\\u00c3") << "cut short";
  EXPECT_EQ(json_escape("\xc0\xaf"), "\\u00c0\\u00af") << "overlong";
  EXPECT_EQ(json_escape("\xed\xa0\x80"), "\\u00ed\\u00a0\\u0080") << "a surrogate";
  EXPECT_EQ(json_escape("\xf4\x90\x80\x80"), "\\u00f4\\u0090\\u0080\\u0080") << "past U+10FFFF";
  EXPECT_EQ(json_escape("\xc3\x28"), "\\u00c3(") << "a lead byte without its continuation";
}

}  // namespace
}  // namespace snigate::observe
