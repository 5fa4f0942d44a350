#include "observe/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <atomic>
#include <cctype>
#include <memory>
#include <mutex>

namespace snigate::observe {
namespace {

std::mutex access_mutex;
std::shared_ptr<spdlog::logger> access;  // guarded by access_mutex for swaps only
std::atomic<bool> access_open{false};

// The code point of the well-formed UTF-8 sequence at the start of s (RFC
// 3629: no overlong forms, no surrogates, nothing past U+10FFFF) and its
// length; length 0 when s does not start with one.
struct Utf8 {
  char32_t cp = 0;
  std::size_t length = 0;
};

Utf8 utf8_at(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = b(0);
  const std::size_t n = lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 ? (lead < 0xf0 ? 3 : 0) : lead >= 0xc2 ? 2 : 0;
  if (n == 0 || s.size() < n) return {};
  char32_t cp = lead & (0x7f >> n);
  for (std::size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xc0) != 0x80) return {};
    cp = cp << 6 | (b(i) & 0x3f);
  }
  const char32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return {};
  return {cp, n};
}

}  // namespace

void setup_logging(std::string_view level) {
  std::string l(level);
  std::ranges::transform(l, l.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  auto lv = spdlog::level::info;
  if (l == "DEBUG" || l == "TRACE") lv = spdlog::level::debug;
  else if (l == "WARN" || l == "WARNING") lv = spdlog::level::warn;
  else if (l == "ERROR" || l == "FATAL" || l == "PANIC") lv = spdlog::level::err;
  auto logger = spdlog::stderr_logger_mt("snigate");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(lv);
  spdlog::flush_on(spdlog::level::debug);
}

void open_access_log(const std::string& path) {
  std::shared_ptr<spdlog::logger> next;
  if (path == "-") {
    next = std::make_shared<spdlog::logger>("access", std::make_shared<spdlog::sinks::stdout_sink_mt>());
  } else if (!path.empty()) {
    try {
      next = std::make_shared<spdlog::logger>("access", std::make_shared<spdlog::sinks::basic_file_sink_mt>(path));
    } catch (const std::exception& e) {
      spdlog::error("access log {}: {}", path, e.what());
    }
  }
  if (next) {
    next->set_pattern("%v");
    next->flush_on(spdlog::level::info);
  }
  std::lock_guard lock(access_mutex);
  access_open.store(next != nullptr, std::memory_order_relaxed);
  access = std::move(next);
}

bool access_log_open() { return access_open.load(std::memory_order_relaxed); }

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // Well-formed UTF-8 stays as it is, so a name reads back as sent; C1
    // controls are escaped as their code points. What a client sent is not
    // trusted to be UTF-8: a byte that starts no well-formed sequence, and
    // any control byte, is escaped as \u00XX, so every line parses.
    const Utf8 u = c >= 0x80 ? utf8_at(s.substr(i)) : Utf8{};
    if (u.length && u.cp >= 0xa0) out.append(s.substr(i, u.length));
    else out += fmt::format("\\u{:04x}", u.length ? static_cast<unsigned>(u.cp) : c);
    i += u.length ? u.length : 1;
  }
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7f) out += fmt::format("\\x{:02x}", c);
        else out += static_cast<char>(c);
    }
  }
  return out;
}

void write_access(const AccessRecord& r) {
  if (!access_log_open()) return;  // no lock (shared by every worker) when nothing is written
  std::shared_ptr<spdlog::logger> log;
  {
    std::lock_guard lock(access_mutex);
    log = access;
  }
  if (!log) return;
  const auto now = std::chrono::system_clock::now();
  const double ms = std::chrono::duration<double, std::milli>(now - r.start).count();
  // UTC with milliseconds, whatever the local time zone is.
  const std::time_t secs = std::chrono::system_clock::to_time_t(r.start);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(r.start.time_since_epoch()).count() % 1000;
  log->info(
      "{{\"time\":\"{:%Y-%m-%dT%H:%M:%S}.{:03d}Z\",\"entry_point\":\"{}\",\"client\":\"{}\",\"peer\":\"{}\","
      "\"tls\":{},\"sni\":\"{}\","
      "\"alpn\":\"{}\",\"alpn_chosen\":\"{}\",\"tls_version\":\"{}\",\"mode\":\"{}\",\"router\":\"{}\","
      "\"service\":\"{}\",\"server\":\"{}\",\"bytes_in\":{},\"bytes_out\":{},\"duration_ms\":{:.3f},"
      "\"end\":\"{}\",\"detail\":\"{}\"}}",
      fmt::gmtime(secs), millis, json_escape(r.entry_point), json_escape(r.client), json_escape(r.peer), r.tls,
      json_escape(r.sni), json_escape(r.alpn),
      json_escape(r.alpn_chosen), r.tls_version, r.mode, json_escape(r.router), json_escape(r.service),
      json_escape(r.server), r.bytes_in, r.bytes_out, ms, r.end, json_escape(r.detail));
}

}  // namespace snigate::observe
