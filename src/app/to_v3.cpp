// The rewrite edits the file's bytes at the marks yaml-cpp gives for each
// scalar, after checking that the bytes there decode to the value yaml-cpp
// read; the result is parsed again and compared, so a layout this code does
// not understand is refused rather than garbled.
#include "app/to_v3.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "rule/v2_syntax.hpp"

namespace snigate::app {
namespace {

struct Edit {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string text;
};

struct Converted {
  std::string router;
  std::string v3;
  int priority = 0;  // written by the rewrite; 0: none needed
};

// Start of the line holding `pos`, and the start of the next one.
std::pair<std::size_t, std::size_t> line_around(std::string_view text, std::size_t pos) {
  const std::size_t nl_before = text.rfind('\n', pos);
  const std::size_t nl = text.find('\n', pos);
  return {nl_before == std::string_view::npos ? 0 : nl_before + 1, nl == std::string_view::npos ? text.size() : nl + 1};
}

bool iequals(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  return std::ranges::equal(a, b, [&](char x, char y) { return lower(x) == lower(y); });
}

// The value of `key` in any case (Traefik reads keys so), or an undefined node.
YAML::Node child(const YAML::Node& map, std::string_view key, YAML::Node* key_node = nullptr) {
  if (!map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& kv : map)
    if (kv.first.IsScalar() && iequals(kv.first.Scalar(), key)) {
      if (key_node) *key_node = kv.first;
      return kv.second;
    }
  return YAML::Node(YAML::NodeType::Undefined);
}

// The priority a router without one gets from its rule (snapshot.cpp): -1 for
// a lone catch-all, else the rule's length as written.
int default_priority(const std::string& rule_text) {
  const auto parsed = rule::parse(rule_text);
  const auto* r = std::get_if<rule::Rule>(&parsed);
  return r && rule::is_catch_all(*r) ? -1 : static_cast<int>(rule_text.size());
}

// The v2 rule's default priority, when the router sets none and its v3 rule
// would get another: the rewrite must not change which router wins.
int priority_to_keep(const YAML::Node& router, const std::string& v2, const std::string& v3) {
  const YAML::Node set = child(router, "priority");
  if (set.IsScalar() && set.as<int>(0) != 0) return 0;
  const int before = default_priority(v2);
  return before == default_priority(v3) ? 0 : before;
}

// Where a one-line scalar starting at `pos` ends, and its style (0: plain),
// when the bytes there decode to `value`.
std::optional<std::pair<std::size_t, char>> scalar_end(std::string_view text, std::size_t pos, const std::string& value) {
  if (pos >= text.size()) return std::nullopt;
  const char q = text[pos];
  if (q != '\'' && q != '"') {
    if (text.substr(pos, value.size()) != value) return std::nullopt;
    const std::size_t end = pos + value.size();
    if (end < text.size() && std::string_view(" \t\r\n,}]").find(text[end]) == std::string_view::npos) return std::nullopt;
    return std::pair{end, '\0'};
  }
  std::string decoded;
  for (std::size_t i = pos + 1; i < text.size() && text[i] != '\n'; ++i) {
    const char c = text[i];
    if (c == q && q == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
      decoded.push_back('\'');
      ++i;
    } else if (c == q) {
      if (decoded != value) return std::nullopt;
      return std::pair{i + 1, q};
    } else if (c == '\\' && q == '"') {
      const char e = i + 1 < text.size() ? text[++i] : '\0';
      if (e == '\\' || e == '"' || e == '/') decoded.push_back(e);
      else return std::nullopt;  // escapes that a rule has no use for
    } else {
      decoded.push_back(c);
    }
  }
  return std::nullopt;
}

// The v3 rule as a scalar of the same style; plain only when YAML reads it back unchanged.
std::string as_scalar(const std::string& v3, char style) {
  const bool plain_ok = !v3.empty() && (std::isalpha(static_cast<unsigned char>(v3[0])) || v3[0] == '(') &&
                        v3.find_first_of(",[]{}#\t\n") == std::string::npos && v3.find(": ") == std::string::npos &&
                        v3.back() != ' ' && v3.back() != ':';
  if (style == '\0' && plain_ok) return v3;
  std::string out(1, style == '"' ? '"' : '\'');
  for (char c : v3) {
    if (style == '"' && (c == '\\' || c == '"')) out.push_back('\\');
    if (style != '"' && c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  return out + out[0];
}

// The whole line of `ruleSyntax: v2`, when nothing else shares it.
std::optional<Edit> remove_line(std::string_view text, std::size_t key_pos) {
  const std::size_t begin = text.rfind('\n', key_pos) == std::string_view::npos ? 0 : text.rfind('\n', key_pos) + 1;
  const std::size_t nl = text.find('\n', key_pos);
  const std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
  std::string line(text.substr(begin, end - begin));
  if (auto hash = line.find(" #"); hash != std::string::npos) line.resize(hash);
  std::erase_if(line, [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\''; });
  if (!iequals(line, "ruleSyntax:v2")) return std::nullopt;
  return Edit{begin, end, ""};
}

// The edits for one router in v2 syntax, or false after saying on `err` why
// it cannot be rewritten in place.
bool router_edits(const std::string& text, const YAML::Node& router, const std::string& where, Converted& c,
                  std::vector<Edit>& edits, std::ostream& err, const std::string& path) {
  const std::string& v3 = c.v3;
  auto refuse = [&](const YAML::Node& at, const std::string& what, const std::string& why) {
    err << fmt::format("{}:{}: {}: {}\n", path, at.Mark().line + 1, what, why);
    return false;
  };
  const YAML::Node rule = child(router, "rule");
  YAML::Node syntax_key;
  const YAML::Node syntax = child(router, "ruleSyntax", &syntax_key);
  const auto pos = static_cast<std::size_t>(rule.Mark().pos);
  const auto span = scalar_end(text, pos, rule.Scalar());
  if (!span)
    return refuse(rule, where + ".rule",
                  "cannot be rewritten in place (a multi-line, block or escaped scalar): rewrite it by hand as " + v3);
  c.priority = priority_to_keep(router, rule.Scalar(), v3);
  const std::string by_hand = fmt::format("rewrite it by hand as {}{}", v3,
                                          c.priority ? fmt::format(" with priority: {}", c.priority) : "");
  std::optional<Edit> line;
  if (syntax.IsDefined() && !(line = remove_line(text, static_cast<std::size_t>(syntax_key.Mark().pos))))
    return refuse(syntax_key, where + ".ruleSyntax", "shares its line with other YAML: " + by_hand);
  edits.push_back({pos, span->first, as_scalar(v3, span->second)});
  if (line) edits.push_back(*line);
  if (c.priority == 0) return true;
  // The v2 priority goes on a line of its own below the rule, indented as the
  // rule's key: a flow map has no such line.
  YAML::Node rule_key;
  child(router, "rule", &rule_key);
  const auto [rule_line, next_line] = line_around(text, pos);
  const auto key_at = static_cast<std::size_t>(rule_key.Mark().pos);
  if (router.Style() == YAML::EmitterStyle::Flow || key_at < rule_line ||
      text.find_first_not_of(' ', rule_line) != key_at || text.find('\n', pos) < span->first)
    return refuse(rule, where + ".rule", "its priority must be kept and the rule shares its line: " + by_hand);
  edits.push_back({next_line, next_line,
                   fmt::format("{}priority: {}  # the v2 rule's length: its priority before the rewrite\n",
                               std::string(key_at - rule_line, ' '), c.priority)});
  if (next_line == text.size() && (text.empty() || text.back() != '\n')) edits.back().text.insert(0, "\n");
  return true;
}

// Whether each rewritten rule reads back as its v3 text, without ruleSyntax.
bool reads_back(const std::string& result, const std::vector<Converted>& converted) {
  try {
    const YAML::Node back = child(child(YAML::Load(result), "tcp"), "routers");
    return std::ranges::all_of(converted, [&](const Converted& c) {
      const YAML::Node r = child(back, c.router);
      return child(r, "rule").as<std::string>("") == c.v3 && !child(r, "ruleSyntax").IsDefined() &&
             (c.priority == 0 || child(r, "priority").as<int>(0) == c.priority);
    });
  } catch (const YAML::Exception&) {
    return false;
  }
}

}  // namespace

int print_v3(const std::string& path, const config::Static& stat, std::ostream& out, std::ostream& err) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    err << path << ": " << e.what() << "\n";
    return 1;
  }
  std::vector<Edit> edits;
  std::vector<Converted> converted;
  int refused = 0;
  const YAML::Node routers = child(child(root, "tcp"), "routers");
  for (const auto& kv : routers.IsMap() ? routers : YAML::Node(YAML::NodeType::Map)) {
    const std::string where = "tcp.routers." + kv.first.Scalar();
    const YAML::Node rule = child(kv.second, "rule");
    const YAML::Node syntax = child(kv.second, "ruleSyntax");
    if ((syntax.IsScalar() ? syntax.Scalar() : stat.default_rule_syntax) != "v2" || !rule.IsScalar()) continue;
    auto v3 = rule::v2_to_v3(rule.Scalar());
    if (auto* e = std::get_if<rule::ParseError>(&v3)) {
      err << fmt::format("{}:{}: {}.rule: {} (at character {} of `{}`)\n", path, rule.Mark().line + 1, where,
                         e->message, e->offset + 1, rule.Scalar());
      ++refused;
    } else if (Converted c{kv.first.Scalar(), std::get<std::string>(v3)};
               !router_edits(text, kv.second, where, c, edits, err, path)) {
      ++refused;
    } else {
      converted.push_back(std::move(c));
    }
  }
  if (refused) {
    err << fmt::format("{}: {} rule(s) not rewritten; nothing printed\n", path, refused);
    return 1;
  }
  std::string result = text;
  // Back to front; at one place a removal goes before an insertion, so that it
  // does not remove the inserted line.
  std::ranges::sort(edits, [](const Edit& a, const Edit& b) { return a.begin != b.begin ? a.begin > b.begin : a.end > b.end; });
  for (const Edit& e : edits) result.replace(e.begin, e.end - e.begin, e.text);
  if (!reads_back(result, converted)) {
    err << path << ": the rewritten file does not read back as intended; nothing printed\n";
    return 1;
  }
  out << result;
  if (stat.default_rule_syntax == "v2")
    err << fmt::format("note: core.defaultRuleSyntax: v2 ({}:{}) still applies to routers without ruleSyntax; "
                       "remove it once every file is in v3 syntax, or the rewritten rules are read as v2\n",
                       stat.default_rule_syntax_loc.file, stat.default_rule_syntax_loc.line);
  err << fmt::format("{}: {} rule(s) rewritten to v3 syntax\n", path, converted.size());
  return 0;
}

}  // namespace snigate::app
