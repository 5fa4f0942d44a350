// What a health-check probe makes of the server's first bytes: a MySQL
// greeting or ERR, a PostgreSQL answer to SSLRequest, send/expect text.
#include <gtest/gtest.h>

#include "balance/probe.hpp"
#include "wire/mysql.hpp"

namespace snigate::balance {
namespace {

namespace my = wire::mysql;

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

HealthCheck check(CheckProtocol p, std::string expect = "") {
  HealthCheck c;
  c.protocol = p;
  c.expect = std::move(expect);
  return c;
}

TEST(ProbeAnswer, MySqlGreetingPasses) {
  my::InitialHandshake hs;
  hs.server_version = "10.11.6-MariaDB";
  hs.capabilities = my::CLIENT_PROTOCOL_41 | my::CLIENT_SECURE_CONNECTION | my::CLIENT_PLUGIN_AUTH;
  hs.auth_plugin = "mysql_native_password";
  const my::Bytes packet = my::frame(0, my::encode_initial_handshake(hs));
  std::string why;
  const HealthCheck c = check(CheckProtocol::mysql);
  EXPECT_EQ(judge_answer(c, std::span(packet).first(10), why), Answer::need_more);
  EXPECT_EQ(judge_answer(c, packet, why), Answer::pass) << why;
}

TEST(ProbeAnswer, MySqlErrInsteadOfGreetingFails) {
  const my::Bytes err = my::encode_err(1040, "08004", "Too many connections", 0);
  std::string why;
  EXPECT_EQ(judge_answer(check(CheckProtocol::mysql), err, why), Answer::fail);
  EXPECT_NE(why.find("Too many connections"), std::string::npos) << why;
  EXPECT_NE(why.find("1040"), std::string::npos) << why;
}

TEST(ProbeAnswer, MySqlGarbageFails) {
  const auto junk = bytes("HTTP/1.1 400 Bad Request\r\n\r\n");
  std::string why;
  EXPECT_EQ(judge_answer(check(CheckProtocol::mysql), junk, why), Answer::fail);
  EXPECT_FALSE(why.empty());
}

TEST(ProbeAnswer, PostgresSslRequestAnswers) {
  std::string why;
  const HealthCheck c = check(CheckProtocol::postgres);
  EXPECT_EQ(judge_answer(c, {}, why), Answer::need_more);
  EXPECT_EQ(judge_answer(c, bytes("S"), why), Answer::pass);
  EXPECT_EQ(judge_answer(c, bytes("N"), why), Answer::pass);
  EXPECT_EQ(judge_answer(c, bytes(std::string_view("E\0\0\0\x10SFATAL", 10)), why), Answer::fail);
  EXPECT_NE(why.find("error"), std::string::npos) << why;
  EXPECT_EQ(judge_answer(c, bytes("+OK"), why), Answer::fail);
}

TEST(ProbeAnswer, ExpectIsLookedForInTheAnswer) {
  std::string why;
  const HealthCheck c = check(CheckProtocol::tcp, "PONG");
  EXPECT_EQ(judge_answer(c, bytes("+PO"), why), Answer::need_more);
  EXPECT_EQ(judge_answer(c, bytes("+PONG\r\n"), why), Answer::pass);
  EXPECT_EQ(judge_answer(c, std::vector<std::uint8_t>(70'000, 'x'), why), Answer::fail);
  EXPECT_FALSE(reads_answer(check(CheckProtocol::tcp)));
  EXPECT_TRUE(reads_answer(c));
}

}  // namespace
}  // namespace snigate::balance
