// v2 HostSNIRegexp templates: `{name}` and `{name:regex}` variables between
// literal text, as Traefik v2 read them. The whole name is matched (anchored).
#include <string>
#include <vector>

#include "rule/v2_syntax.hpp"

namespace snigate::rule {
namespace {

constexpr std::string_view kDefaultVariable = "[^.]+";  // one DNS label

char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Literal text as a regex: every character that is special in RE2 or
// ECMAScript gets a backslash, so `a.b` matches only "a.b".
void append_literal(std::string& out, std::string_view text) {
  for (char c : text) {
    if (std::string_view(R"(\.+*?()|[]{}^$)").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(to_lower(c));
  }
}

// A variable's own regex in lower case. Escapes are kept as they are (`\D` is
// not `\d`), and so are property names such as \p{Greek}.
void append_variable_regex(std::string& out, std::string_view re) {
  for (std::size_t i = 0; i < re.size(); ++i) {
    if (re[i] != '\\' || i + 1 >= re.size()) {
      out.push_back(to_lower(re[i]));
      continue;
    }
    out.push_back('\\');
    const char e = re[++i];
    out.push_back(e);
    if ((e == 'p' || e == 'P') && i + 1 < re.size() && re[i + 1] == '{') {
      const std::size_t close = re.find('}', i + 1);
      const std::size_t end = close == std::string_view::npos ? re.size() : close + 1;
      out.append(re.substr(i + 1, end - i - 1));
      i = end - 1;
    }
  }
}

struct Braces {
  std::size_t open = 0;   // of `{`
  std::size_t close = 0;  // of the matching `}`
};

// The outermost {...} pairs; nested braces (a{2,3}) belong to the variable.
std::variant<std::vector<Braces>, ParseError> outer_braces(std::string_view tmpl, std::size_t offset) {
  std::vector<Braces> found;
  std::size_t level = 0, open = 0;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{') {
      if (level++ == 0) open = i;
    } else if (tmpl[i] == '}') {
      if (level == 0) return ParseError{offset + i, "unbalanced braces in HostSNIRegexp template: `}` without `{`"};
      if (--level == 0) found.push_back({open, i});
    }
  }
  if (level != 0) return ParseError{offset + open, "unbalanced braces in HostSNIRegexp template: `{` without `}`"};
  return found;
}

}  // namespace

std::variant<std::string, ParseError> v2_template_regex(std::string_view tmpl, std::size_t offset) {
  auto braces = outer_braces(tmpl, offset);
  if (auto* e = std::get_if<ParseError>(&braces)) return *e;
  std::string out = "^";
  std::size_t literal_from = 0;
  for (const Braces& b : std::get<std::vector<Braces>>(braces)) {
    append_literal(out, tmpl.substr(literal_from, b.open - literal_from));
    const std::string_view inner = tmpl.substr(b.open + 1, b.close - b.open - 1);
    const std::size_t colon = inner.find(':');
    const std::string_view name = inner.substr(0, colon);
    const std::string_view re = colon == std::string_view::npos ? kDefaultVariable : inner.substr(colon + 1);
    if (name.empty() || re.empty()) {
      return ParseError{offset + b.open, "missing name or pattern in `" + std::string(tmpl.substr(b.open, b.close - b.open + 1)) +
                                             "`: write {name} or {name:regex}"};
    }
    out += "(?:";
    append_variable_regex(out, re);
    out += ")";
    literal_from = b.close + 1;
  }
  append_literal(out, tmpl.substr(literal_from));
  out += "$";
  return out;
}

}  // namespace snigate::rule
