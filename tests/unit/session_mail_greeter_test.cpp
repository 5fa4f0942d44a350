// What snigate answers IMAP and POP3 clients before STARTTLS / STLS
// (session/imap_greeter, session/pop3_greeter).
#include <gtest/gtest.h>

#include "session/imap_greeter.hpp"
#include "session/pop3_greeter.hpp"

namespace snigate::session {
namespace {

using mail::Next;

TEST(ImapGreeter, GreetingAndCapabilitySayLoginIsDisabled) {
  imap::Greeter g{{"gw.example", false}};
  EXPECT_EQ(imap::greeting(g), "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] gw.example ready (snigate)\r\n");
  const mail::Answer a = imap::answer(g, "a1 capability");
  EXPECT_EQ(a.next, Next::reply);
  EXPECT_EQ(a.reply, "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na1 OK CAPABILITY completed\r\n");
}

TEST(ImapGreeter, PlainRoutersTakeTheLogin) {
  imap::Greeter g{{"gw.example", true}};
  EXPECT_EQ(imap::greeting(g), "* OK [CAPABILITY IMAP4rev1 STARTTLS] gw.example ready (snigate)\r\n");
  EXPECT_EQ(imap::answer(g, "a LOGIN alice secret").next, Next::route_plain);
  EXPECT_EQ(imap::answer(g, "a LOGIN {5}").next, Next::route_plain);  // the server sends the "+"
  EXPECT_EQ(imap::answer(g, "a AUTHENTICATE PLAIN").next, Next::route_plain);
}

TEST(ImapGreeter, StarttlsNoopLogout) {
  imap::Greeter g{{"gw.example", false}};
  const mail::Answer s = imap::answer(g, "x STARTTLS");
  EXPECT_EQ(s.next, Next::starttls);
  EXPECT_EQ(s.reply, "x OK Begin TLS negotiation now\r\n");
  EXPECT_EQ(imap::answer(g, "y NOOP").reply, "y OK NOOP completed\r\n");
  const mail::Answer q = imap::answer(g, "z LOGOUT");
  EXPECT_EQ(q.next, Next::quit);
  EXPECT_EQ(q.reply, "* BYE gw.example logging out\r\nz OK LOGOUT completed\r\n");
}

TEST(ImapGreeter, LoginBeforeTlsIsRefusedWithTheReason) {
  imap::Greeter g{{"gw.example", false}};
  const mail::Answer a = imap::answer(g, "a2 LOGIN alice {6}");
  EXPECT_EQ(a.next, Next::reply);  // no "+": the client sends no literal
  EXPECT_TRUE(a.reply.starts_with("a2 NO [PRIVACYREQUIRED] STARTTLS first: gw.example chooses the server")) << a.reply;
}

TEST(ImapGreeter, LiteralPlusCannotGoOn) {
  imap::Greeter g{{"gw.example", false}};
  const mail::Answer a = imap::answer(g, "a LOGIN {5+}");
  EXPECT_EQ(a.next, Next::close);
  EXPECT_EQ(a.reply, "a BAD LITERAL+ is not offered before STARTTLS\r\n* BYE gw.example\r\n");
}

TEST(ImapGreeter, BadLinesAndTooManyErrors) {
  imap::Greeter g{{"gw.example", false}};
  EXPECT_TRUE(imap::answer(g, "").reply.starts_with("* BAD ")) << "no tag";
  EXPECT_EQ(imap::answer(g, "t SELECT INBOX").reply, "t BAD Command not recognized before STARTTLS: SELECT\r\n");
  for (int i = 3; i < mail::kMaxErrors; ++i) EXPECT_EQ(imap::answer(g, "t FETCH 1").next, Next::reply);
  const mail::Answer last = imap::answer(g, "t FETCH 1");
  EXPECT_EQ(last.next, Next::close);
  EXPECT_EQ(last.reply, "* BYE gw.example too many errors\r\n");
}

TEST(Pop3Greeter, GreetingCapaAndStls) {
  pop3::Greeter g{{"gw.example", false}};
  EXPECT_EQ(pop3::greeting(g), "+OK gw.example ready (snigate)\r\n");
  EXPECT_EQ(pop3::answer(g, "capa").reply, "+OK Capability list follows\r\nSTLS\r\n.\r\n");
  const mail::Answer s = pop3::answer(g, "STLS");
  EXPECT_EQ(s.next, Next::starttls);
  EXPECT_EQ(s.reply, "+OK Begin TLS negotiation\r\n");
  EXPECT_EQ(pop3::answer(g, "NOOP").reply, "+OK\r\n");
  EXPECT_EQ(pop3::answer(g, "QUIT").next, Next::quit);
}

TEST(Pop3Greeter, LoginBeforeTls) {
  pop3::Greeter closed{{"gw.example", false}};
  const mail::Answer a = pop3::answer(closed, "USER alice");
  EXPECT_EQ(a.next, Next::reply);
  EXPECT_TRUE(a.reply.starts_with("-ERR STLS first: gw.example chooses the server")) << a.reply;
  pop3::Greeter open{{"gw.example", true}};
  EXPECT_EQ(pop3::answer(open, "CAPA").reply, "+OK Capability list follows\r\nSTLS\r\nUSER\r\n.\r\n");
  EXPECT_EQ(pop3::answer(open, "USER alice").next, Next::route_plain);
  EXPECT_EQ(pop3::answer(open, "AUTH PLAIN").next, Next::route_plain);
}

TEST(Pop3Greeter, UnknownCommandsAndTooManyErrors) {
  pop3::Greeter g{{"gw.example", false}};
  EXPECT_EQ(pop3::answer(g, "RETR 1").reply, "-ERR Command not recognized before STLS: RETR\r\n");
  for (int i = 2; i < mail::kMaxErrors; ++i) EXPECT_EQ(pop3::answer(g, "STAT").next, Next::reply);
  const mail::Answer last = pop3::answer(g, "STAT");
  EXPECT_EQ(last.next, Next::close);
  EXPECT_EQ(last.reply, "-ERR gw.example too many errors\r\n");
}

TEST(ImapGreeter, AfterTlsLoginNamesTheServer) {
  imap::Greeter g{{"gw.example", false}};
  g.after_tls = true;
  EXPECT_EQ(imap::answer(g, "a CAPABILITY").reply, "* CAPABILITY IMAP4rev1\r\na OK CAPABILITY completed\r\n");
  EXPECT_EQ(imap::answer(g, "b STARTTLS").reply, "b BAD TLS is already active\r\n");
  const mail::Answer a = imap::answer(g, "c LOGIN \"alice@example.com\" secret");
  EXPECT_EQ(a.next, Next::route_login);
  EXPECT_EQ(a.login, "alice@example.com");
  EXPECT_TRUE(imap::answer(g, "d LOGIN {5}").reply.starts_with("d NO Cannot read the user name (the user name is a "
                                                               "literal)"));
  EXPECT_TRUE(imap::answer(g, "e AUTHENTICATE PLAIN").reply.starts_with("e NO The client sent no SNI"));
}

TEST(Pop3Greeter, AfterTlsUserNamesTheServer) {
  pop3::Greeter g{{"gw.example", false}};
  g.after_tls = true;
  EXPECT_EQ(pop3::answer(g, "CAPA").reply, "+OK Capability list follows\r\nUSER\r\n.\r\n");
  EXPECT_EQ(pop3::answer(g, "STLS").reply, "-ERR TLS is already active\r\n");
  EXPECT_TRUE(pop3::answer(g, "PASS x").reply.starts_with("-ERR The client sent no SNI")) << "PASS before USER";
  const mail::Answer a = pop3::answer(g, "USER alice@example.com");
  EXPECT_EQ(a.next, Next::route_login);
  EXPECT_EQ(a.login, "alice@example.com");
}

TEST(MailGreeter, PrintableLine) {
  EXPECT_EQ(mail::printable_line("a\r\nb\x7f\xff", 100), "a??b??");
  EXPECT_EQ(mail::printable_line("abcdef", 3), "abc");
}

}  // namespace
}  // namespace snigate::session
