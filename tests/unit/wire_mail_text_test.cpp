// The text protocols' lines, SMTP replies and POP3 responses (wire/text_line,
// wire/smtp, wire/pop3), with what real servers send.
#include <gtest/gtest.h>

#include <string>

#include "wire/imap.hpp"
#include "wire/mail_login.hpp"
#include "wire/pop3.hpp"
#include "wire/smtp.hpp"
#include "wire/text_line.hpp"

namespace snigate::wire {
namespace {

TEST(WireTextLine, CrlfBareLfAndLimits) {
  LineResult r = next_text_line("EHLO a\r\nMAIL", 512);
  ASSERT_EQ(r.status, LineStatus::line);
  EXPECT_EQ(r.line.text, "EHLO a");
  EXPECT_EQ(r.line.size, 8u);
  EXPECT_FALSE(r.line.bare_lf);

  r = next_text_line("EHLO a\nX", 512);
  ASSERT_EQ(r.status, LineStatus::line);
  EXPECT_EQ(r.line.text, "EHLO a");
  EXPECT_TRUE(r.line.bare_lf);

  EXPECT_EQ(next_text_line("EHLO a\r", 512).status, LineStatus::need_more);
  // The limit counts the line end: 4 bytes hold "abc\n" but not "abcd\n".
  EXPECT_EQ(next_text_line("abc\n", 4).status, LineStatus::line);
  EXPECT_EQ(next_text_line("abcd\n", 4).status, LineStatus::too_long);
  EXPECT_EQ(next_text_line("abcd", 4).status, LineStatus::too_long);
  EXPECT_EQ(next_text_line("abc", 4).status, LineStatus::need_more);
}

TEST(WireTextLine, CommandsInAnyCase) {
  TextCommand c = parse_text_command("ehlo client.example.org");
  EXPECT_TRUE(c.error.empty());
  EXPECT_EQ(c.verb, "EHLO");
  EXPECT_EQ(c.argument, "client.example.org");

  c = parse_text_command("StartTLS");
  EXPECT_EQ(c.verb, "STARTTLS");
  EXPECT_TRUE(c.argument.empty());

  c = parse_text_command("MAIL FROM:<a@example.org> SIZE=10");
  EXPECT_EQ(c.verb, "MAIL");
  EXPECT_EQ(c.argument, "FROM:<a@example.org> SIZE=10");

  EXPECT_EQ(parse_text_command("").error, "the command has no verb");
  EXPECT_EQ(parse_text_command(" x").error, "the command has no verb");
  EXPECT_EQ(parse_text_command("EH\x16LO").error, "byte 2 of the command is 0x16, not a letter of its verb");
}

TEST(WireSmtpReply, AGreetingAndAnEhloReply) {
  SmtpReplyResult r = parse_smtp_reply("220 mx.example.org ESMTP Postfix\r\nrest");
  ASSERT_EQ(r.status, ReplyStatus::complete) << r.error;
  EXPECT_EQ(r.reply.code, 220);
  ASSERT_EQ(r.reply.lines.size(), 1u);
  EXPECT_EQ(r.reply.lines[0], "mx.example.org ESMTP Postfix");
  EXPECT_EQ(r.reply.size, 34u);

  const std::string ehlo =
      "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-starttls\r\n250-ENHANCEDSTATUSCODES\r\n"
      "250 8BITMIME\r\n";
  r = parse_smtp_reply(ehlo);
  ASSERT_EQ(r.status, ReplyStatus::complete) << r.error;
  EXPECT_EQ(r.reply.code, 250);
  EXPECT_EQ(r.reply.size, ehlo.size());
  const std::vector<EhloExtension> ext = ehlo_extensions(r.reply);
  ASSERT_EQ(ext.size(), 5u);
  EXPECT_EQ(ext[0].keyword, "PIPELINING");
  EXPECT_EQ(ext[1].keyword, "SIZE");
  EXPECT_EQ(ext[1].params, "10240000");
  EXPECT_EQ(ext[2].keyword, "STARTTLS");  // upper-cased: keywords are case-insensitive
  EXPECT_EQ(ext[4].keyword, "8BITMIME");

  // Every prefix short of the last line end is not yet a reply.
  for (std::size_t n = 0; n < ehlo.size(); ++n)
    EXPECT_EQ(parse_smtp_reply(ehlo.substr(0, n)).status, ReplyStatus::need_more) << n;
}

TEST(WireSmtpReply, ACodeAloneEndsTheReply) {
  const SmtpReplyResult r = parse_smtp_reply("354\r\n");
  ASSERT_EQ(r.status, ReplyStatus::complete) << r.error;
  EXPECT_EQ(r.reply.code, 354);
  EXPECT_EQ(r.reply.lines.front(), "");
}

TEST(WireSmtpReply, WhatIsRefusedSaysWhere) {
  EXPECT_EQ(parse_smtp_reply("250-a\r\n251 b\r\n").error, "reply line 2 (at byte 7) has code 251, the lines before it 250");
  EXPECT_EQ(parse_smtp_reply("HTTP/1.1 400\r\n").error,
            "reply line 1 (at byte 0) does not start with a reply code (2xx to 5xx)");
  EXPECT_EQ(parse_smtp_reply("199 no\r\n").status, ReplyStatus::bad);
  EXPECT_EQ(parse_smtp_reply("260 no\r\n").status, ReplyStatus::bad);
  EXPECT_EQ(parse_smtp_reply("250_x\r\n").error,
            "reply line 1 (at byte 0): the code is followed by 0x5f, not a space or '-'");
  EXPECT_EQ(parse_smtp_reply(std::string(600, '2')).error, "reply line 1 (at byte 0) is longer than 512 bytes");
  std::string many;
  for (int i = 0; i < 70; ++i) many += "250-x\r\n";
  EXPECT_EQ(parse_smtp_reply(many).error, "the reply has more than 64 lines");
}

TEST(WireSmtpReply, WrittenRepliesAreSafeAndShort) {
  EXPECT_EQ(smtp_reply(250, "2.0.0", "OK"), "250 2.0.0 OK\r\n");
  EXPECT_EQ(smtp_reply(220, "", "mx ready"), "220 mx ready\r\n");
  // A name from the client cannot end the reply or start a line of its own.
  EXPECT_EQ(smtp_reply(554, "5.7.0", "no route for \"a\r\n250 OK\""), "554 5.7.0 no route for \"a??250 OK\"\r\n");
  // Long text is cut at spaces into lines of at most 512 bytes, each with the code.
  std::string text;
  for (int i = 0; i < 200; ++i) text += (i ? " word" : "word") + std::to_string(i);
  const std::string reply = smtp_reply(421, "4.4.1", text);
  const SmtpReplyResult back = parse_smtp_reply(reply);
  ASSERT_EQ(back.status, ReplyStatus::complete) << back.error;
  EXPECT_EQ(back.reply.code, 421);
  EXPECT_GT(back.reply.lines.size(), 1u);
  std::string joined;
  for (std::string_view line : back.reply.lines) {
    EXPECT_TRUE(line.starts_with("4.4.1 ")) << line;
    joined += (joined.empty() ? "" : " ") + std::string(line.substr(6));
  }
  EXPECT_EQ(joined, text);
  // A word longer than a line is cut where the line ends.
  const std::string long_word(1200, 'x');
  const SmtpReplyResult cut = parse_smtp_reply(smtp_reply(554, "", long_word));
  ASSERT_EQ(cut.status, ReplyStatus::complete) << cut.error;
  EXPECT_EQ(cut.reply.lines.size(), 3u);
}

TEST(WireMailLogin, ImapLoginUser) {
  EXPECT_EQ(imap_login_user("alice@example.com secret").user, "alice@example.com");
  EXPECT_EQ(imap_login_user("\"al\\\"ice@example.com\" \"se cret\"").user, "al\"ice@example.com");
  EXPECT_EQ(imap_login_user("{17}").error, "the user name is a literal");
  EXPECT_EQ(imap_login_user("\"alice").error, "the user name's quoted string does not end");
  EXPECT_EQ(imap_login_user("").error, "LOGIN has no arguments");
  EXPECT_EQ(imap_login_user("\"\" x").error, "the user name is empty");
}

TEST(WireMailLogin, SaslPlainAndLogin) {
  // "\0alice@example.com\0secret" and "authz\0bob@b.example\0pw"
  EXPECT_EQ(sasl_plain_user("AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==").user, "alice@example.com");
  EXPECT_EQ(sasl_plain_user("YXV0aHoAYm9iQGIuZXhhbXBsZQBwdw==").user, "bob@b.example");
  EXPECT_EQ(sasl_plain_user("not base64!").error, "the PLAIN response is not base64");
  EXPECT_EQ(sasl_plain_user("YWxpY2U=").error, "the PLAIN response is not authzid NUL authcid NUL password");
  EXPECT_EQ(sasl_login_user("YWxpY2VAZXhhbXBsZS5jb20=").user, "alice@example.com");
  EXPECT_EQ(sasl_login_user("YQph").error, "the LOGIN user name holds a control byte");  // "a\na"
  EXPECT_EQ(login_domain("a@b@example.com"), "example.com");
  EXPECT_EQ(login_domain("alice"), "");
}

TEST(WirePop3, StatusLines) {
  Pop3Response r = parse_pop3_response("+OK Dovecot ready.\r\n", false);
  ASSERT_EQ(r.status, Pop3Status::complete) << r.error;
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.text, "Dovecot ready.");
  EXPECT_EQ(r.size, 20u);

  r = parse_pop3_response("-ERR [IN-USE] locked\r\n", false);
  ASSERT_EQ(r.status, Pop3Status::complete);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.text, "[IN-USE] locked");

  EXPECT_EQ(parse_pop3_response("+OK\r\n", false).text, "");
  EXPECT_EQ(parse_pop3_response("+OKAY\r\n", false).error, "the response starts with neither \"+OK\" nor \"-ERR\"");
  EXPECT_EQ(parse_pop3_response("+OK", false).status, Pop3Status::need_more);
}

TEST(WirePop3, ABodyEndsAtTheDotLine) {
  const std::string capa = "+OK\r\nCAPA\r\nTOP\r\nSTLS\r\n..hidden\r\nSASL PLAIN\r\n.\r\n";
  const Pop3Response r = parse_pop3_response(capa, true);
  ASSERT_EQ(r.status, Pop3Status::complete) << r.error;
  EXPECT_EQ(r.size, capa.size());
  ASSERT_EQ(r.lines.size(), 5u);
  EXPECT_EQ(r.lines[2], "STLS");
  EXPECT_EQ(r.lines[3], ".hidden");  // dot-stuffed
  for (std::size_t n = 0; n < capa.size(); ++n)
    EXPECT_EQ(parse_pop3_response(capa.substr(0, n), true).status, Pop3Status::need_more) << n;
  // -ERR has no body, even where one was asked for.
  const Pop3Response err = parse_pop3_response("-ERR no\r\nTOP\r\n", true);
  ASSERT_EQ(err.status, Pop3Status::complete);
  EXPECT_EQ(err.size, 9u);
}

TEST(WireImap, CommandsAndTheirLiterals) {
  ImapCommand c = parse_imap_command("a001 starttls");
  EXPECT_TRUE(c.error.empty()) << c.error;
  EXPECT_EQ(c.tag, "a001");
  EXPECT_EQ(c.name, "STARTTLS");
  EXPECT_TRUE(c.arguments.empty());
  EXPECT_FALSE(c.has_literal);

  c = parse_imap_command("A2 LOGIN alice@example.org \"secret\"");
  EXPECT_EQ(c.name, "LOGIN");
  EXPECT_EQ(c.arguments, "alice@example.org \"secret\"");

  c = parse_imap_command("A3 LOGIN {17}");
  EXPECT_TRUE(c.has_literal);
  EXPECT_EQ(c.literal, 17u);
  EXPECT_FALSE(c.literal_plus);
  c = parse_imap_command("A3 LOGIN {5+}");
  EXPECT_TRUE(c.has_literal && c.literal_plus);
  EXPECT_EQ(c.literal, 5u);
  EXPECT_FALSE(parse_imap_command("A3 LOGIN {x}").has_literal);

  EXPECT_EQ(parse_imap_command("A4 APPEND INBOX {99999}").error,
            "the command announces a literal of 99999 bytes, more than 4096");
  EXPECT_EQ(parse_imap_command("").error, "the command has no tag");
  EXPECT_EQ(parse_imap_command("a+1 NOOP").error, "byte 1 of the tag is 0x2b, which a tag cannot hold");
  EXPECT_EQ(parse_imap_command("a1").error, "the command has a tag but no name");
  EXPECT_EQ(parse_imap_command("a1 NO(OP").error, "byte 5 of the command is 0x28, which a command name cannot hold");
}

TEST(WireImap, ResponsesAndCapabilities) {
  ImapResponse r = parse_imap_response("* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS AUTH=PLAIN] Dovecot ready.");
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.kind, ImapResponseKind::untagged);
  EXPECT_EQ(r.status, "OK");
  EXPECT_EQ(r.code, "CAPABILITY IMAP4rev1 SASL-IR STARTTLS AUTH=PLAIN");
  EXPECT_EQ(r.text, "Dovecot ready.");
  EXPECT_EQ(imap_capabilities("CAPABILITY IMAP4rev1 starttls  AUTH=PLAIN"),
            (std::vector<std::string>{"CAPABILITY", "IMAP4REV1", "STARTTLS", "AUTH=PLAIN"}));

  r = parse_imap_response("a001 ok Begin TLS negotiation now.");
  EXPECT_EQ(r.kind, ImapResponseKind::tagged);
  EXPECT_EQ(r.tag, "a001");
  EXPECT_EQ(r.status, "OK");
  EXPECT_EQ(r.text, "Begin TLS negotiation now.");

  r = parse_imap_response("+ Ready for literal data");
  EXPECT_EQ(r.kind, ImapResponseKind::continuation);
  EXPECT_EQ(r.text, "Ready for literal data");

  EXPECT_EQ(parse_imap_response("* BYE [UNAVAILABLE").error, "the response code \"[\" is not closed");
  EXPECT_FALSE(parse_imap_response("hello").error.empty());
}

}  // namespace
}  // namespace snigate::wire
