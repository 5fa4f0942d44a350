#if defined(__GNUC__) && !defined(__clang__)
// g++ 12 with -fsanitize=address reports a false "maybe uninitialized" deep
// inside <regex>'s compiler; the warning is in the library, not in this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "rule/regex_guard.hpp"

#include <vector>

namespace snigate::rule {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads "{n}", "{n,}" or "{n,m}" at `pos`; returns how many copies of the
// preceding atom std::regex will make, or 0 when this is not a bound (then
// ECMAScript treats `{` as a literal, or std::regex rejects it).
std::size_t read_bound(std::string_view p, std::size_t& pos) {
  std::size_t i = pos + 1;
  auto number = [&](std::size_t& out) {
    const std::size_t start = i;
    out = 0;  // at most 6 digits: regex_too_complex checked that first
    while (i < p.size() && is_digit(p[i])) out = out * 10 + static_cast<std::size_t>(p[i++] - '0');
    return i > start;
  };
  std::size_t lo = 0;
  std::size_t hi = 0;
  if (!number(lo)) return 0;
  hi = lo;
  if (i < p.size() && p[i] == ',') {
    ++i;
    if (!number(hi)) hi = lo + 1;  // {n,} is n copies and a star
  }
  if (i >= p.size() || p[i] != '}') return 0;
  pos = i;
  return std::max<std::size_t>(std::max(lo, hi), 1);
}

}  // namespace

std::optional<std::string> regex_too_complex(std::string_view p) {
  if (p.size() > kMaxRegexLength) {
    return "the regex is longer than " + std::to_string(kMaxRegexLength) + " bytes";
  }
  // libstdc++ reads counts and back-reference numbers into a long without
  // checking for overflow; no sensible count has more than 6 digits.
  std::size_t digits = 0;
  for (char c : p) {
    digits = is_digit(c) ? digits + 1 : 0;
    if (digits > 6) return std::string("the regex has a number longer than 6 digits");
  }
  // Estimate the automaton: every atom is a state, a bound multiplies the
  // atom or group before it. `groups` holds the size of each open group.
  std::vector<std::size_t> groups{0};
  std::size_t last = 0;  // size of the atom or group just finished
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      ++i;
      last = 1;
    } else if (c == '[') {
      // A class is one state, however long; skip to its closing `]`.
      std::size_t j = i + 1;
      if (j < p.size() && p[j] == '^') ++j;
      if (j < p.size() && p[j] == ']') ++j;
      while (j < p.size() && p[j] != ']') j += p[j] == '\\' ? 2 : 1;
      i = j;
      last = 1;
    } else if (c == '(') {
      groups.push_back(0);
      if (groups.size() > kMaxRegexNesting) {
        return "the regex nests groups deeper than " + std::to_string(kMaxRegexNesting);
      }
      last = 0;
      continue;
    } else if (c == ')') {
      if (groups.size() == 1) continue;  // unbalanced: std::regex will say so
      last = groups.back() + 2;
      groups.pop_back();
    } else if (c == '{') {
      const std::size_t copies = read_bound(p, i);
      if (copies == 0) {
        last = 1;
      } else {
        // The atom is already counted once; add the other copies.
        groups.back() += last * (copies - 1);
        last = 0;
      }
    } else {
      last = 1;
    }
    groups.back() += last;
    if (groups.back() > kMaxRegexStates) return std::string("the regex is too large once its repetitions {n,m} are expanded");
  }
  return std::nullopt;
}

std::variant<std::regex, std::string> compile_regex(std::string_view pattern) {
  if (auto why = regex_too_complex(pattern)) return *why;
  auto flags = std::regex::ECMAScript | std::regex::icase;
#ifdef __GLIBCXX__
  // libstdc++'s default matcher backtracks, which is exponential on patterns
  // like (a*)*b; this flag selects its linear-time matcher and refuses the one
  // feature that needs backtracking, back-references.
  flags |= std::regex_constants::__polynomial;
#endif
  try {
    return std::regex(pattern.begin(), pattern.end(), flags);
  } catch (const std::regex_error& e) {
    if (e.code() == std::regex_constants::error_complexity) {
      return std::string("back-references are not supported in HostSNIRegexp");
    }
    return std::string(e.what());
  }
}

}  // namespace snigate::rule
