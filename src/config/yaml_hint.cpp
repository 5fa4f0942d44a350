#include "config/yaml_hint.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <set>
#include <vector>

namespace snigate::config {
namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::size_t indent_of(std::string_view line) { return line.find_first_not_of(' '); }

bool blank_or_comment(std::string_view line) {
  const auto at = line.find_first_not_of(" \t");
  return at == std::string_view::npos || line[at] == '#';
}

// A quote that starts a scalar: at the start of the content, or after ": ",
// "- ", "[", "{" or ",". An apostrophe inside a plain word ("don't") is not one.
bool opens_scalar(std::string_view line, std::size_t at) {
  std::size_t i = at;
  while (i > 0 && line[i - 1] == ' ') --i;
  if (i == 0) return true;
  const char before = line[i - 1];
  return before == ':' || before == '-' || before == '[' || before == '{' || before == ',';
}

// Scans one line outside quotes: flow brackets opened and closed, and whether a
// quote was left open. Stops at a comment.
struct LineScan {
  int flow_depth_change = 0;
  char open_quote = 0;
};

LineScan scan(std::string_view line) {
  LineScan s;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '#' && (i == 0 || line[i - 1] == ' ')) break;
    if ((c == '"' || c == '\'') && opens_scalar(line, i)) {
      std::size_t j = i + 1;
      for (; j < line.size(); ++j) {
        if (c == '"' && line[j] == '\\') ++j;
        else if (line[j] == c && c == '\'' && j + 1 < line.size() && line[j + 1] == '\'') ++j;
        else if (line[j] == c) break;
      }
      if (j >= line.size()) {
        s.open_quote = c;
        return s;
      }
      i = j;
    } else if (c == '{' || c == '[') {
      ++s.flow_depth_change;
    } else if (c == '}' || c == ']') {
      --s.flow_depth_change;
    }
  }
  return s;
}

}  // namespace

YamlHint yaml_syntax_hint(std::string_view text, int gave_up_at) {
  const std::vector<std::string_view> lines = split_lines(text);
  const std::size_t last = std::min<std::size_t>(lines.size(), gave_up_at > 0 ? gave_up_at : lines.size());
  std::vector<int> open_flows;  // lines of flow brackets still open
  std::set<std::size_t> indents_above{0};
  std::size_t previous_indent = 0;
  for (std::size_t n = 0; n < last; ++n) {
    const std::string_view line = lines[n];
    const int number = static_cast<int>(n) + 1;
    const auto first = line.find_first_not_of(" \t");
    if (first != std::string_view::npos && line.substr(0, first).find('\t') != std::string_view::npos)
      return {number, "this line is indented with a tab; YAML indents with spaces only"};
    if (blank_or_comment(line)) continue;
    const LineScan s = scan(line);
    if (s.open_quote)
      return {number, fmt::format("the {} quote opened on this line is not closed on it", s.open_quote)};
    for (int d = 0; d < s.flow_depth_change; ++d) open_flows.push_back(number);
    for (int d = 0; d > s.flow_depth_change && !open_flows.empty(); --d) open_flows.pop_back();
    // A line that steps back must step back to a level used above.
    const std::size_t indent = indent_of(line);
    if (open_flows.empty() && number == gave_up_at && indent < previous_indent && !indents_above.contains(indent))
      return {number, fmt::format("this line is indented {} spaces, which lines up with no line above it", indent)};
    if (open_flows.empty()) {
      indents_above.insert(indent);
      previous_indent = indent;
    }
  }
  if (!open_flows.empty())
    return {open_flows.back(), "a flow collection ({ or [) opened on this line is not closed"};
  return {};
}

}  // namespace snigate::config
