#include "observe/notify.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <system_error>

namespace snigate::observe::notify {
namespace {

// One STATUS= line: a newline would start another assignment.
std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

void send(const std::string& state) {
  // 0: no NOTIFY_SOCKET, nothing to tell. Negative: the socket is there but
  // the message did not go; systemd would then time the unit out, so say why.
  if (const int r = sd_notify(0, state.c_str()); r < 0)
    spdlog::warn("sd_notify: cannot tell the service manager \"{}\": {}", one_line(state),
                 std::error_code(-r, std::generic_category()).message());
}

std::uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace

void ready(std::string_view text) { send("READY=1\nSTATUS=" + one_line(text)); }

void stopping(std::string_view text) { send("STOPPING=1\nSTATUS=" + one_line(text)); }

void status(std::string_view text) { send("STATUS=" + one_line(text)); }

Reload::Reload() { send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading the configuration", monotonic_usec())); }

Reload::~Reload() { send("READY=1"); }

}  // namespace snigate::observe::notify
