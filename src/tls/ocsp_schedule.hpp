#pragma once
// When an OCSP response is asked for again, and until when it may be stapled.
#include <chrono>
#include <optional>

namespace snigate::tls {

using WallClock = std::chrono::system_clock;

// Never ask one responder for one certificate more often than this, whatever
// its response says.
inline constexpr auto kOcspMinRefresh = std::chrono::minutes(1);
// A response without nextUpdate makes no promise: it is stapled for this long
// after it was fetched, and asked for again halfway.
inline constexpr auto kOcspNoNextUpdateLife = std::chrono::minutes(60);  // minutes: halved without rounding to 0
// Failed fetches are retried after 1, 2, 4 ... minutes, at most this far apart.
inline constexpr auto kOcspMaxRetry = std::chrono::hours(1);

struct OcspTimes {
  WallClock::time_point refresh;  // ask again then
  WallClock::time_point expires;  // never staple it from then on
};

// After a good fetch at `now`: refresh halfway between thisUpdate and
// nextUpdate (as Traefik does), but no sooner than kOcspMinRefresh from now.
OcspTimes ocsp_times(WallClock::time_point this_update, std::optional<WallClock::time_point> next_update,
                     WallClock::time_point now);

// The wait after the n-th failure in a row (n >= 1).
WallClock::duration ocsp_retry_delay(int failures);

}  // namespace snigate::tls
