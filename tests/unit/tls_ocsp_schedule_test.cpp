// When OCSP responses are fetched again, until when they are stapled, and
// which responder is asked.
#include <gtest/gtest.h>

#include "tls/ocsp_fetch.hpp"
#include "tls/ocsp_schedule.hpp"

namespace snigate::tls {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

const WallClock::time_point t0 = WallClock::from_time_t(1'700'000'000);

TEST(TlsOcspSchedule, RefreshHalfwayToNextUpdate) {
  const OcspTimes t = ocsp_times(t0, t0 + hours(24 * 7), t0 + minutes(5));
  EXPECT_EQ(t.refresh, t0 + hours(12 * 7));
  EXPECT_EQ(t.expires, t0 + hours(24 * 7));
}

TEST(TlsOcspSchedule, NeverSoonerThanTheMinimum) {
  // A response already past its halfway point (or nearly expired) is not
  // asked for again at once, in a loop.
  const OcspTimes t = ocsp_times(t0, t0 + minutes(10), t0 + minutes(9));
  EXPECT_EQ(t.refresh, t0 + minutes(9) + kOcspMinRefresh);
  EXPECT_EQ(t.expires, t0 + minutes(10));
}

TEST(TlsOcspSchedule, NoNextUpdate) {
  const auto now = t0 + minutes(1);
  const OcspTimes t = ocsp_times(t0, std::nullopt, now);
  EXPECT_EQ(t.expires, now + kOcspNoNextUpdateLife);
  EXPECT_EQ(t.refresh, now + minutes(30));
  EXPECT_LT(t.refresh, t.expires);
}

TEST(TlsOcspSchedule, RetryBacksOffToAnHour) {
  EXPECT_EQ(ocsp_retry_delay(1), minutes(1));
  EXPECT_EQ(ocsp_retry_delay(2), minutes(2));
  EXPECT_EQ(ocsp_retry_delay(3), minutes(4));
  EXPECT_EQ(ocsp_retry_delay(7), minutes(60));
  EXPECT_EQ(ocsp_retry_delay(1000), minutes(60));
}

TEST(TlsOcspSchedule, ResponderOverrideMatchesTheWholeUrl) {
  const std::map<std::string, std::string> overrides{{"http://ocsp.ca.example", "http://127.0.0.1:9000"}};
  EXPECT_EQ(responder_to_ask("http://ocsp.ca.example", overrides), "http://127.0.0.1:9000");
  EXPECT_EQ(responder_to_ask("http://ocsp.ca.example/", overrides), "http://ocsp.ca.example/");
  EXPECT_EQ(responder_to_ask("http://other.example", overrides), "http://other.example");
  EXPECT_EQ(responder_to_ask("http://ocsp.ca.example", {}), "http://ocsp.ca.example");
}

}  // namespace
}  // namespace snigate::tls
