#pragma once
// Tells systemd (a Type=notify unit) what the gateway is doing, with
// sd_notify: ready once every listener is up, reloading and ready again
// around a configuration reload, stopping when the drain starts, and a status
// line for `systemctl status`. Each call does nothing when the process was not
// started by a service manager (NOTIFY_SOCKET unset).
#include <string_view>

namespace snigate::observe::notify {

void ready(std::string_view status);
void stopping(std::string_view status);
void status(std::string_view text);

// RELOADING=1 (with the monotonic clock, as systemd 253 and later expect) for
// as long as it lives, then READY=1: a reload that fails still ends, and the
// previous configuration goes on serving.
class Reload {
 public:
  Reload();
  ~Reload();
  Reload(const Reload&) = delete;
  Reload& operator=(const Reload&) = delete;
};

}  // namespace snigate::observe::notify
