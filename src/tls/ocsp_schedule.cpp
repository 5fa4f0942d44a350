#include "tls/ocsp_schedule.hpp"

#include <algorithm>

namespace snigate::tls {

OcspTimes ocsp_times(WallClock::time_point this_update, std::optional<WallClock::time_point> next_update,
                     WallClock::time_point now) {
  OcspTimes t;
  if (next_update) {
    t.expires = *next_update;
    t.refresh = this_update + (*next_update - this_update) / 2;
  } else {
    t.expires = now + kOcspNoNextUpdateLife;
    t.refresh = now + kOcspNoNextUpdateLife / 2;
  }
  t.refresh = std::max(t.refresh, now + WallClock::duration(kOcspMinRefresh));
  return t;
}

WallClock::duration ocsp_retry_delay(int failures) {
  WallClock::duration d = kOcspMinRefresh;
  for (int i = 1; i < failures && d < kOcspMaxRetry; ++i) d *= 2;
  return std::min(d, WallClock::duration(kOcspMaxRetry));
}

}  // namespace snigate::tls
