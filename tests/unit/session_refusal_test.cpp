// session/refusal and the drivers' shared refusals: one mapping from a
// ClientHello read to a refusal, one from a Cause to a TLS alert, and the
// texts of the route checks that MySQL and PostgreSQL share.
#include <gtest/gtest.h>

#include <string>

#include "session/client_tls.hpp"
#include "session/middlewares.hpp"
#include "session/no_route.hpp"
#include "session/refusal.hpp"

namespace snigate::session {
namespace {

constexpr std::chrono::milliseconds kTimeout{1500};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(SessionRefusal, SilentClientIsATimeoutLoggedAtDebug) {
  Sniffed s;
  s.timed_out = true;
  const Refusal r = hello_refusal(s, kTimeout, false);
  EXPECT_EQ(r.cause, Cause::timeout);
  EXPECT_EQ(r.end, "timeout");
  EXPECT_EQ(r.level, spdlog::level::debug);
  EXPECT_TRUE(has(r.message, "sent nothing within clientHelloTimeout (1500 ms)")) << r.message;
}

TEST(SessionRefusal, SilenceAfterAskingForTlsIsWorthALogLine) {
  Sniffed s;
  s.timed_out = true;
  const Refusal r = hello_refusal(s, kTimeout, true);
  EXPECT_EQ(r.level, spdlog::level::info);
  EXPECT_TRUE(has(r.message, "no ClientHello after the request for TLS")) << r.message;
}

TEST(SessionRefusal, PartHelloThenTimeoutCountsTheBytes) {
  Sniffed s;
  s.timed_out = true;
  s.bytes.assign(37, 0x16);
  const Refusal r = hello_refusal(s, kTimeout, false);
  EXPECT_EQ(r.cause, Cause::timeout);
  EXPECT_TRUE(has(r.message, "incomplete ClientHello after clientHelloTimeout (1500 ms, 37 bytes)")) << r.message;
}

TEST(SessionRefusal, CloseIsSilent) {
  Sniffed s;
  s.status = wire::HelloStatus::need_more;
  EXPECT_EQ(hello_refusal(s, kTimeout, false).end, "client_closed");
  EXPECT_EQ(hello_refusal(s, kTimeout, false).cause, Cause::silent);
  s.bytes.assign(5, 0x16);
  EXPECT_TRUE(has(hello_refusal(s, kTimeout, false).message, "during its ClientHello (5 bytes)"));
}

TEST(SessionRefusal, BrokenHelloGetsDecodeError) {
  Sniffed s;
  s.status = wire::HelloStatus::malformed;
  s.error = "extension length past the end at offset 42";
  const Refusal r = hello_refusal(s, kTimeout, false);
  EXPECT_EQ(r.cause, Cause::bad_hello);
  EXPECT_EQ(r.end, "bad_hello");
  EXPECT_TRUE(has(r.message, "offset 42")) << r.message;
  EXPECT_EQ(alert_for(r.cause), 50);  // decode_error
  s.status = wire::HelloStatus::too_large;
  EXPECT_TRUE(has(hello_refusal(s, kTimeout, false).message, "larger than")) ;
}

TEST(SessionRefusal, NotTlsAfterAskingForItIsSilent) {
  Sniffed s;
  s.status = wire::HelloStatus::not_tls;
  const Refusal r = hello_refusal(s, kTimeout, true);
  EXPECT_EQ(r.cause, Cause::silent);
  EXPECT_EQ(r.end, "bad_hello");
}

TEST(SessionRefusal, AlertPerCause) {
  EXPECT_EQ(alert_for(Cause::unknown_name), 112);  // unrecognized_name
  EXPECT_EQ(alert_for(Cause::no_protocol), 120);   // no_application_protocol
  EXPECT_EQ(alert_for(Cause::unreachable), 80);    // internal_error
  EXPECT_EQ(alert_for(Cause::denied), 80);
  EXPECT_EQ(alert_for(Cause::not_allowed), 49);  // access_denied
  EXPECT_EQ(alert_for(Cause::too_many), 49);
}

// A middleware's refusal names the router and the middleware, never the
// ranges or the limit, and ends "denied".
TEST(SessionRefusal, MiddlewareRefusalNamesRouterAndMiddleware) {
  Route route;
  route.name = "db";
  policy::Middleware allow;
  allow.name = "office";
  allow.kind = policy::Kind::ip_allow_list;
  allow.ranges.push_back(rule::IpRange{});
  Refusal r = middleware_refusal(route, allow);
  EXPECT_EQ(r.cause, Cause::not_allowed);
  EXPECT_EQ(r.end, "denied");
  EXPECT_EQ(r.message, "router db: middleware office (ipAllowList) does not allow this client's address");
  policy::Middleware slots;
  slots.name = "five";
  slots.kind = policy::Kind::in_flight_conn;
  slots.amount = 5;
  r = middleware_refusal(route, slots);
  EXPECT_EQ(r.cause, Cause::too_many);
  EXPECT_TRUE(has(r.message, "router db: middleware five (inFlightConn)")) << r.message;
  EXPECT_FALSE(has(r.message, "5")) << r.message;
  slots.amount = 0;  // refuses everyone: the message must not blame open connections
  r = middleware_refusal(route, slots);
  EXPECT_EQ(r.message, "router db: middleware five (inFlightConn) admits no connection");
  policy::Middleware rate;
  rate.name = "calm";
  rate.kind = policy::Kind::rate_limit;
  r = middleware_refusal(route, rate);
  EXPECT_EQ(r.cause, Cause::too_many);
  EXPECT_TRUE(has(r.message, "middleware calm (rateLimit)")) << r.message;
}

TEST(SessionRefusal, HintFollowsTheMessage) {
  const Refusal r(Cause::denied, "plaintext_refused", "router db requires TLS", "connect with TLS");
  EXPECT_EQ(with_hint(r), "router db requires TLS; connect with TLS");
  EXPECT_EQ(with_hint(Refusal(Cause::denied, "x", "alone")), "alone");
}

TEST(SessionRefusal, AnsweredCarriesTheServersWords) {
  const Refusal r = answered("backend_refused", "server said no", {0xff, 0x10, 0x04});
  EXPECT_EQ(r.cause, Cause::answered);
  EXPECT_EQ(r.said.size(), 3u);
}

EntryRoutes entry_of(config::Protocol protocol) {
  EntryRoutes e;
  e.ep.name = "db";
  e.ep.protocol = protocol;
  return e;
}

TEST(SessionRefusal, PlaintextRefusalNamesTheProtocolsKey) {
  Route r;
  r.name = "orders";
  const Refusal my = plaintext_refusal(entry_of(config::Protocol::mysql), r);
  EXPECT_EQ(my.cause, Cause::denied);
  EXPECT_TRUE(has(my.message, "router orders requires TLS")) << my.message;
  EXPECT_TRUE(has(my.message, "mysql.allowPlaintext")) << my.message;
  EXPECT_TRUE(has(my.hint, "--ssl")) << my.hint;
  const Refusal pg = plaintext_refusal(entry_of(config::Protocol::postgres), r);
  EXPECT_TRUE(has(pg.message, "postgres.allowPlaintext")) << pg.message;
  EXPECT_TRUE(has(pg.hint, "sslmode=require")) << pg.hint;
}

TEST(SessionRefusal, NoRouteForADatabaseClientSaysWhereTheNameCameFrom) {
  const EntryRoutes e = entry_of(config::Protocol::mysql);
  Facts f;
  f.tls = true;
  f.sni = "nope.test";
  const Refusal from_user = no_route_refusal(e, f, true);
  EXPECT_EQ(from_user.cause, Cause::unknown_name);
  EXPECT_TRUE(has(from_user.message, "no route on entry point db for \"nope.test\" (from the user name's @host part)"))
      << from_user.message;
  EXPECT_TRUE(has(from_user.detail, "this entry point has no routers")) << from_user.detail;
  EXPECT_TRUE(has(no_route_refusal(e, f, false).message, "(from the client's SNI)"));
  f.sni = "";
  EXPECT_TRUE(has(no_route_refusal(e, f, false).message, "neither SNI nor a user name of the form user@host"));
}

}  // namespace
}  // namespace snigate::session
