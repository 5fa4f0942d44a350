#pragma once
// Where a YAML syntax error really is. The parser reports where it gave up,
// often far below the mistake (an unclosed quote is noticed at the end of the
// file): look at the text for the usual causes, a tab in the indentation, a
// quote or a flow `{`/`[` left open, a line indented to match nothing above.
#include <string>
#include <string_view>

namespace snigate::config {

struct YamlHint {
  int line = 0;         // 1-based line of the likely mistake; 0: no hint
  std::string message;  // what is wrong there
};

// `text` is the file, `gave_up_at` the parser's 1-based line.
YamlHint yaml_syntax_hint(std::string_view text, int gave_up_at);

}  // namespace snigate::config
