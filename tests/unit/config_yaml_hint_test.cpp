#include <gtest/gtest.h>

#include "config/yaml_hint.hpp"

namespace snigate::config {
namespace {

TEST(ConfigYamlHint, UnclosedQuoteIsFoundAboveWhereTheParserStopped) {
  const char* text =
      "tcp:\n  routers:\n    a:\n      rule: \"HostSNI(`a.test`)\"\n      service: \"svc\n      tls: {}\n"
      "  services:\n    svc: {}\n";
  const YamlHint h = yaml_syntax_hint(text, 8);
  EXPECT_EQ(h.line, 5);
  EXPECT_EQ(h.message, "the \" quote opened on this line is not closed on it");
}

TEST(ConfigYamlHint, QuotesThatCloseAndApostrophesInWordsAreFine) {
  const char* text =
      "a: \"x \\\" y\"  # don't\nb: 'it''s'\nc: don't\nd: [\"x\", 'y']\n  e: 1\n";
  EXPECT_EQ(yaml_syntax_hint(text, 5).line, 0);
}

TEST(ConfigYamlHint, TabInIndentation) {
  const YamlHint h = yaml_syntax_hint("entryPoints:\n  web:\n\taddress: \":443\"\n", 3);
  EXPECT_EQ(h.line, 3);
  EXPECT_NE(h.message.find("tab"), std::string::npos);
}

TEST(ConfigYamlHint, DedentToNoLevelAbove) {
  const char* text = "tcp:\n  routers:\n    a:\n      rule: x\n     service: svc\n";
  const YamlHint h = yaml_syntax_hint(text, 5);
  EXPECT_EQ(h.line, 5);
  EXPECT_EQ(h.message, "this line is indented 5 spaces, which lines up with no line above it");
  // A deeper line is not this mistake.
  EXPECT_EQ(yaml_syntax_hint("a:\n  b: 1\n      c: 2\n", 3).line, 0);
}

TEST(ConfigYamlHint, UnclosedFlowCollection) {
  const char* text = "tcp:\n  routers:\n    a: {rule: x, service: svc\n    b:\n      rule: y\n";
  const YamlHint h = yaml_syntax_hint(text, 4);
  EXPECT_EQ(h.line, 3);
  EXPECT_NE(h.message.find("not closed"), std::string::npos);
  EXPECT_EQ(yaml_syntax_hint("a: {b: [1, 2], c: 3}\nd: 4\n", 2).line, 0);
}

}  // namespace
}  // namespace snigate::config
