// libFuzzer target for the text protocols' parsers (wire/text_line, wire/smtp,
// wire/pop3, wire/imap, and the login names of wire/mail_login). Besides the whole input it replays every prefix, as a gateway
// parses again after each read, and checks what a gateway relies on: a
// verdict does not change when more bytes come, nothing complete claims more
// bytes than it was given or a line beyond its limit, and every refusal says why.
#include <cstdlib>
#include <string_view>

#include "wire/imap.hpp"
#include "wire/mail_login.hpp"
#include "wire/pop3.hpp"
#include "wire/smtp.hpp"
#include "wire/text_line.hpp"

namespace {

namespace wire = snigate::wire;

void check(bool ok) {
  if (!ok) std::abort();
}

// A login name is given or refused with a reason; given, it is what routing
// may log and match: bounded, no control bytes, its domain a suffix of it.
void check_login(const wire::LoginUser& u) {
  check(u.error.empty() != u.user.empty());
  if (u.user.empty()) return;
  check(u.user.size() <= 320);
  for (const char ch : u.user) check(static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f);
  check(u.user.ends_with(wire::login_domain(u.user)));
}

struct Verdicts {
  wire::SmtpReplyResult smtp;
  wire::Pop3Response pop3;
  wire::Pop3Response pop3_multi;
};

Verdicts run(std::string_view bytes) {
  Verdicts v{wire::parse_smtp_reply(bytes, 64, 8), wire::parse_pop3_response(bytes, false, 64, 8),
             wire::parse_pop3_response(bytes, true, 64, 8)};
  if (v.smtp.status == wire::ReplyStatus::complete) {
    check(v.smtp.reply.size <= bytes.size() && !v.smtp.reply.lines.empty() && v.smtp.reply.lines.size() <= 8);
    check(v.smtp.reply.code >= 200 && v.smtp.reply.code <= 559);
    for (const auto& e : wire::ehlo_extensions(v.smtp.reply)) check(!e.keyword.empty() && e.keyword.size() < 64);
  }
  if (v.smtp.status == wire::ReplyStatus::bad) check(!v.smtp.error.empty());
  for (const wire::Pop3Response* p : {&v.pop3, &v.pop3_multi}) {
    if (p->status == wire::Pop3Status::complete) check(p->size <= bytes.size() && p->lines.size() <= 8);
    if (p->status == wire::Pop3Status::bad) check(!p->error.empty());
  }
  const wire::LineResult l = wire::next_text_line(bytes, 64);
  if (l.status == wire::LineStatus::line) {
    check(l.line.size <= 64 && l.line.size <= bytes.size() && l.line.text.size() < l.line.size);
    const wire::TextCommand c = wire::parse_text_command(l.line.text);
    check(!c.error.empty() || !c.verb.empty());
    for (const char ch : c.verb) check(ch >= 'A' && ch <= 'Z');
    const wire::ImapCommand ic = wire::parse_imap_command(l.line.text, 100);
    if (ic.error.empty()) check(!ic.tag.empty() && !ic.name.empty() && (!ic.has_literal || ic.literal <= 100));
    const wire::ImapResponse ir = wire::parse_imap_response(l.line.text);
    if (ir.error.empty() && ir.kind != wire::ImapResponseKind::continuation) check(!ir.status.empty());
    for (const std::string& cap : wire::imap_capabilities(ir.code)) check(!cap.empty() && cap.find(' ') == std::string::npos);
    check_login(wire::imap_login_user(l.line.text));
    check_login(wire::sasl_plain_user(l.line.text));
    check_login(wire::sasl_login_user(l.line.text));
  }
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const Verdicts whole = run(all);
  for (std::size_t n = 0; n < size; ++n) {
    const Verdicts part = run(all.substr(0, n));
    if (part.smtp.status != wire::ReplyStatus::need_more) check(part.smtp.status == whole.smtp.status);
    if (part.smtp.status == wire::ReplyStatus::complete) check(part.smtp.reply.size == whole.smtp.reply.size);
    if (part.pop3.status != wire::Pop3Status::need_more) check(part.pop3.status == whole.pop3.status);
    if (part.pop3_multi.status != wire::Pop3Status::need_more) check(part.pop3_multi.status == whole.pop3_multi.status);
  }
  return 0;
}
