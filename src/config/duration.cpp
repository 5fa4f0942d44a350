// Traefik durations: Go's time.ParseDuration syntax ("1m30s", "250ms", "1.5h"),
// or a bare integer meaning seconds.
#include <cctype>
#include <charconv>
#include <cmath>
#include <string_view>

#include "config/config.hpp"

namespace snigate::config {

namespace {

// Nanoseconds per unit, or 0 when `unit` is not one.
double unit_ns(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1e3;  // us, µs (U+00B5), μs (U+03BC)
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  if (unit == "m") return 60e9;
  if (unit == "h") return 3600e9;
  return 0;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Whether text is a whole integer with an optional sign (Traefik's bare
// seconds), and its value.
bool bare_integer(std::string_view text, long long& value) {
  const char* b = text.data();
  if (text.front() == '+') ++b;
  auto [end, ec] = std::from_chars(b, text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

// A decimal number at s[i] ("1", "1.5", ".5"), i moved past it; false when
// it has no digit.
bool read_number(std::string_view s, std::size_t& i, long double& value) {
  bool digits = false;
  while (i < s.size() && is_digit(s[i])) {
    value = value * 10 + (s[i] - '0');
    digits = true;
    ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    long double scale = 0.1L;
    while (i < s.size() && is_digit(s[i])) {
      value += scale * (s[i] - '0');
      scale /= 10;
      digits = true;
      ++i;
    }
  }
  return digits;
}

// The sum of Go's number-unit terms ("1h30m", "1.5s"), in nanoseconds;
// false at the first term without digits or without a known unit.
bool sum_of_terms(std::string_view s, long double& total_ns) {
  while (!s.empty()) {
    std::size_t i = 0;
    long double value = 0;
    if (!read_number(s, i, value)) return false;
    std::size_t u = i;
    while (u < s.size() && !is_digit(s[u]) && s[u] != '.') ++u;
    double per = unit_ns(s.substr(i, u - i));
    if (per == 0) return false;  // missing or unknown unit
    total_ns += value * per;
    s.remove_prefix(u);
  }
  return true;
}

}  // namespace

Duration parse_duration(std::string_view text, bool* ok) {
  bool dummy = false;
  bool& good = ok ? *ok : dummy;
  good = false;
  if (text.empty()) return Duration{0};

  if (long long secs = 0; bare_integer(text, secs)) {
    if (secs > 9'000'000'000'000LL || secs < -9'000'000'000'000LL) return Duration{0};
    good = true;
    return Duration{secs * 1000};
  }

  std::string_view s = text;
  bool negative = false;
  if (s.front() == '-' || s.front() == '+') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return Duration{0};
  if (s == "0") {
    good = true;
    return Duration{0};
  }
  long double total_ns = 0;
  if (!sum_of_terms(s, total_ns)) return Duration{0};
  if (total_ns > 9.2e18L) return Duration{0};  // Go's limit: about 292 years
  auto ms = static_cast<long long>(total_ns / 1e6L);
  good = true;
  return Duration{negative ? -ms : ms};
}

}  // namespace snigate::config
