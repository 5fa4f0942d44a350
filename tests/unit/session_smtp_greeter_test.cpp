// What snigate answers an SMTP client before STARTTLS (session/smtp_greeter).
#include "session/smtp_greeter.hpp"

#include <gtest/gtest.h>

namespace snigate::session::smtp {
namespace {

Greeter greeter(bool plain_routes = false) {
  Greeter g;
  g.at = {"gw.example", plain_routes};
  return g;
}

TEST(SmtpGreeter, GreetingAndEhloOfferStarttlsOnly) {
  Greeter g = greeter();
  EXPECT_EQ(greeting(g), "220 gw.example ESMTP snigate\r\n");
  const Answer a = answer(g, "ehlo client.example");
  EXPECT_EQ(a.next, Next::reply);
  EXPECT_EQ(a.reply, "250-gw.example\r\n250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n");
  EXPECT_EQ(g.verb, "EHLO");
  EXPECT_EQ(g.client_name, "client.example");
}

TEST(SmtpGreeter, HeloAnswersOneLine) {
  Greeter g = greeter();
  EXPECT_EQ(answer(g, "HELO c.example").reply, "250 gw.example\r\n");
  EXPECT_EQ(g.verb, "HELO");
}

TEST(SmtpGreeter, EhloNeedsAName) {
  Greeter g = greeter();
  EXPECT_EQ(answer(g, "EHLO").reply, "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_TRUE(g.verb.empty());
}

TEST(SmtpGreeter, StarttlsIsTakenWithoutArgumentOnly) {
  Greeter g = greeter();
  EXPECT_EQ(answer(g, "STARTTLS now").next, Next::reply);
  const Answer a = answer(g, "starttls");
  EXPECT_EQ(a.next, Next::starttls);
  EXPECT_EQ(a.reply, "220 2.0.0 Ready to start TLS\r\n");
}

TEST(SmtpGreeter, TransactionBeforeTlsIsRefusedWithTheReason) {
  Greeter g = greeter();
  answer(g, "EHLO c");
  const Answer a = answer(g, "MAIL FROM:<a@b>");
  EXPECT_EQ(a.next, Next::reply);
  EXPECT_TRUE(a.reply.starts_with("530 5.7.0 Must issue a STARTTLS command first: gw.example chooses the server"))
      << a.reply;
  EXPECT_NE(a.reply.find("takes no MAIL without TLS"), std::string::npos) << a.reply;
  EXPECT_TRUE(answer(g, "AUTH PLAIN AGFsaWNlAHNlY3JldA==").reply.starts_with("530 ")) << "AUTH before TLS";
}

TEST(SmtpGreeter, PlainRouterTakesATransactionAfterEhlo) {
  Greeter g = greeter(true);
  EXPECT_EQ(answer(g, "MAIL FROM:<a@b>").reply, "503 5.5.1 Send EHLO first\r\n");
  answer(g, "EHLO c");
  const Answer a = answer(g, "MAIL FROM:<a@b>");
  EXPECT_EQ(a.next, Next::route_plain);
  EXPECT_TRUE(a.reply.empty());
}

TEST(SmtpGreeter, NoopRsetHelpQuit) {
  Greeter g = greeter();
  EXPECT_EQ(answer(g, "NOOP").reply, "250 2.0.0 OK\r\n");
  EXPECT_EQ(answer(g, "RSET").reply, "250 2.0.0 OK\r\n");
  EXPECT_TRUE(answer(g, "HELP").reply.starts_with("214 2.0.0 gw.example routes by the TLS server name"));
  const Answer q = answer(g, "QUIT");
  EXPECT_EQ(q.next, Next::quit);
  EXPECT_EQ(q.reply, "221 2.0.0 gw.example closing the connection\r\n");
}

TEST(SmtpGreeter, TooManyErrorsClose) {
  Greeter g = greeter();
  for (int i = 1; i < mail::kMaxErrors; ++i) {
    const Answer a = answer(g, i % 2 ? "XYZZY" : "RCPT TO:<a@b>");
    EXPECT_EQ(a.next, Next::reply) << i;
  }
  const Answer last = answer(g, "VRFY alice");
  EXPECT_EQ(last.next, Next::close);
  EXPECT_EQ(last.reply, "421 4.7.0 gw.example too many errors, closing the connection\r\n");
}

TEST(SmtpGreeter, AfterTlsAuthNamesTheServer) {
  Greeter g = greeter();
  answer(g, "EHLO before.example");
  start_after_tls(g);
  EXPECT_EQ(answer(g, "AUTH PLAIN AGFAYgBj").reply, "503 5.5.1 Send EHLO first\r\n");
  EXPECT_EQ(answer(g, "EHLO c.example").reply, "250-gw.example\r\n250-AUTH PLAIN LOGIN\r\n250 ENHANCEDSTATUSCODES\r\n");
  EXPECT_TRUE(answer(g, "MAIL FROM:<a@b>").reply.starts_with("530 5.7.0 Authentication required: the client sent no "
                                                             "SNI"));
  EXPECT_EQ(answer(g, "STARTTLS").reply, "503 5.5.1 TLS is already active\r\n");
  EXPECT_EQ(answer(g, "AUTH CRAM-MD5").reply,
            "504 5.5.4 Unrecognized authentication type: CRAM-MD5 (offered: PLAIN LOGIN)\r\n");
  // PLAIN with its initial response: the line goes to the server as it is.
  const Answer plain = answer(g, "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==");
  EXPECT_EQ(plain.next, Next::route_login);
  EXPECT_EQ(plain.login, "alice@example.com");
  EXPECT_TRUE(g.server_auth.empty());
}

TEST(SmtpGreeter, AfterTlsAuthLoginAsksForTheUser) {
  Greeter g = greeter();
  start_after_tls(g);
  answer(g, "EHLO c.example");
  EXPECT_EQ(answer(g, "AUTH LOGIN").reply, "334 VXNlcm5hbWU6\r\n");
  const Answer user = answer(g, "YWxpY2VAZXhhbXBsZS5jb20=");
  EXPECT_EQ(user.next, Next::route_login);
  EXPECT_EQ(user.login, "alice@example.com");
  EXPECT_EQ(g.server_auth, "AUTH LOGIN");  // the server must ask for the user name too
  // "*" cancels (RFC 4954 4).
  EXPECT_EQ(answer(g, "AUTH PLAIN").reply, "334 \r\n");
  EXPECT_EQ(answer(g, "*").reply, "501 5.7.0 Authentication cancelled\r\n");
  EXPECT_TRUE(g.server_auth.empty());
}

TEST(SmtpGreeter, NotACommandSaysWhy) {
  Greeter g = greeter();
  const Answer a = answer(g, "1234");
  EXPECT_TRUE(a.reply.starts_with("500 5.5.2 Syntax error: ")) << a.reply;
  EXPECT_EQ(answer(g, "XYZZY").reply, "500 5.5.2 Command not recognized: XYZZY\r\n");
}

}  // namespace
}  // namespace snigate::session::smtp
