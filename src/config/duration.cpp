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

}  // namespace

Duration parse_duration(std::string_view text, bool* ok) {
  bool dummy = false;
  bool& good = ok ? *ok : dummy;
  good = false;
  if (text.empty()) return Duration{0};

  // A bare integer: seconds.
  {
    long long secs = 0;
    const char* b = text.data();
    if (text.front() == '+') ++b;
    auto [end, ec] = std::from_chars(b, text.data() + text.size(), secs);
    if (ec == std::errc() && end == text.data() + text.size()) {
      if (secs > 9'000'000'000'000LL || secs < -9'000'000'000'000LL) return Duration{0};
      good = true;
      return Duration{secs * 1000};
    }
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
  while (!s.empty()) {
    std::size_t i = 0;
    long double value = 0;
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
    if (!digits) return Duration{0};
    std::size_t u = i;
    while (u < s.size() && !is_digit(s[u]) && s[u] != '.') ++u;
    double per = unit_ns(s.substr(i, u - i));
    if (per == 0) return Duration{0};  // missing or unknown unit
    total_ns += value * per;
    s.remove_prefix(u);
  }
  if (total_ns > 9.2e18L) return Duration{0};  // Go's limit: about 292 years
  auto ms = static_cast<long long>(total_ns / 1e6L);
  good = true;
  return Duration{negative ? -ms : ms};
}

}  // namespace snigate::config
