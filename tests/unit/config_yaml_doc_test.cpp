// The YAML reader (config/yaml_doc): what the walker relies on, node kinds,
// lines, duplicates kept, aliases, and where a syntax error is.
#include "config/yaml_doc.hpp"

#include <gtest/gtest.h>

namespace snigate::config::yaml {
namespace {

std::shared_ptr<const Document> ok(std::string_view text) {
  auto parsed = parse(text);
  if (const auto* e = std::get_if<SyntaxError>(&parsed)) {
    ADD_FAILURE() << "line " << e->line << ": " << e->message;
    return nullptr;
  }
  return std::get<std::shared_ptr<const Document>>(parsed);
}

SyntaxError bad(std::string_view text) {
  auto parsed = parse(text);
  if (const auto* e = std::get_if<SyntaxError>(&parsed)) return *e;
  ADD_FAILURE() << "parsed: " << text;
  return {};
}

TEST(YamlDoc, NullsAreUnquotedEmptyTildeOrNull) {
  auto doc = ok("a:\nb: ~\nc: null\nd: NULL\ne: \"null\"\nf: ''\ng: nil\n");
  const Node root = doc->root();
  ASSERT_TRUE(root.is_map());
  ASSERT_EQ(root.size(), 7u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_TRUE(root.value(i).is_null()) << root.key(i).scalar();
  EXPECT_TRUE(root.value(4).is_scalar());
  EXPECT_EQ(root.value(4).scalar(), "null");
  EXPECT_TRUE(root.value(5).is_scalar());
  EXPECT_EQ(root.value(5).scalar(), "");
  EXPECT_EQ(root.value(6).scalar(), "nil");
}

TEST(YamlDoc, EmptyTextIsANullDocument) {
  EXPECT_TRUE(ok("")->root().is_null());
  EXPECT_TRUE(ok("# only a comment\n")->root().is_null());
}

TEST(YamlDoc, MapsKeepEveryEntryInOrderWithLines) {
  auto doc = ok("tcp:\n  routers:\n    a: {rule: x}\n    a: {rule: y}\n    b:\n      - 1\n      - two\n");
  const Node routers = doc->root().value(0).value(0);
  ASSERT_TRUE(routers.is_map());
  ASSERT_EQ(routers.size(), 3u);  // the duplicate is kept, for the walker to report
  EXPECT_EQ(routers.key(0).scalar(), "a");
  EXPECT_EQ(routers.key(1).scalar(), "a");
  EXPECT_EQ(routers.key(1).line(), 3);  // 0-based
  EXPECT_EQ(routers.value(1).value(0).scalar(), "y");
  EXPECT_TRUE(routers.value(1).is_flow());
  const Node list = routers.value(2);
  ASSERT_TRUE(list.is_list());
  EXPECT_FALSE(list.is_flow());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].scalar(), "two");
  EXPECT_EQ(list[1].line(), 6);
}

TEST(YamlDoc, OutOfRangeAndWrongKindGiveUndefined) {
  auto doc = ok("a: [1]\n");
  const Node root = doc->root();
  EXPECT_FALSE(root.value(5).defined());
  EXPECT_FALSE(root[0].defined());  // a map is not a list
  EXPECT_FALSE(root.value(0)[1].defined());
  EXPECT_EQ(root.scalar(), "");
  EXPECT_EQ(Node().line(), -1);
}

TEST(YamlDoc, AnAliasIsTheAnchoredNode) {
  auto doc = ok("x: &base {port: 1}\ny: *base\nz: &self [*self]\n");
  const Node root = doc->root();
  EXPECT_TRUE(root.value(1).same(root.value(0)));
  // An anchor used inside itself makes a cycle, which the walker bounds.
  EXPECT_TRUE(root.value(2)[0].same(root.value(2)));
}

TEST(YamlDoc, AnAliasWithoutAnchorIsAnError) {
  const SyntaxError e = bad("a: 1\nb: *nowhere\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.message, "alias *nowhere names no anchor defined before it");
}

TEST(YamlDoc, SyntaxErrorsSayWhereTheParserStopped) {
  const SyntaxError e = bad("a: 1\nb: [1, 2\nc: 3\n");
  EXPECT_GE(e.line, 2);
  EXPECT_FALSE(e.message.empty());
  const SyntaxError tab = bad("a:\n\tb: 1\n");
  EXPECT_EQ(tab.line, 2);
}

TEST(YamlDoc, BytesThatAreNotUtf8AreAnErrorOnTheirLine) {
  const SyntaxError e = bad("a: 1\nb: caf\xe9\n");  // Latin-1, not UTF-8
  EXPECT_EQ(e.line, 2);
  EXPECT_NE(e.message.find("UTF-8"), std::string::npos) << e.message;
}

TEST(YamlDoc, OnlyTheFirstDocumentIsRead) {
  auto doc = ok("a: 1\n---\nb: 2\n");
  ASSERT_EQ(doc->root().size(), 1u);
  EXPECT_EQ(doc->root().key(0).scalar(), "a");
}

TEST(YamlDoc, QuotedScalarsKeepTheirText) {
  auto doc = ok("rule: \"HostSNI(`a.test`) && ClientIP(`10.0.0.0/8`)\"\nmulti: |\n  line 1\n  line 2\n");
  EXPECT_EQ(doc->root().value(0).scalar(), "HostSNI(`a.test`) && ClientIP(`10.0.0.0/8`)");
  EXPECT_EQ(doc->root().value(1).scalar(), "line 1\nline 2\n");
}

}  // namespace
}  // namespace snigate::config::yaml
