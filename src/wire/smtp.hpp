#pragma once
// SMTP replies (RFC 5321 4.2): one or more lines with one code, "250-" on
// each but the last, "250 " (or the code alone) on the last; and what an
// EHLO reply offers. Pure and bounded, for a gateway that reads a server's
// greeting and its answers to EHLO and STARTTLS before passing TLS through.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace snigate::wire {

struct SmtpReply {
  int code = 0;                          // 220, 250, 454, ...
  std::vector<std::string_view> lines;   // each line's text after the code and its separator
  std::size_t size = 0;                  // bytes of the whole reply, line ends included
};

enum class ReplyStatus { need_more, complete, bad };

struct SmtpReplyResult {
  ReplyStatus status = ReplyStatus::need_more;
  SmtpReply reply;    // complete: views into the bytes parsed
  std::string error;  // bad: what is wrong, and where
};

// RFC 5321 4.5.3.1.5: a reply line is at most 512 bytes with its CRLF.
SmtpReplyResult parse_smtp_reply(std::string_view bytes, std::size_t max_line = 512, std::size_t max_lines = 64);

// An EHLO reply's extensions: every line after the first (which names the
// server), its keyword upper-cased and its parameters as written.
struct EhloExtension {
  std::string keyword;      // "STARTTLS", "SIZE", "PIPELINING", ...
  std::string_view params;  // "35882577" for SIZE; empty when none
};

std::vector<EhloExtension> ehlo_extensions(const SmtpReply& reply);

// A reply to send: code, then the enhanced status code (RFC 3463, e.g.
// "5.7.0"; "" for none) and the text on every line. The text is cut into
// lines of at most 512 bytes with their CRLF, at spaces where it can be, and
// every byte that is not printable ASCII becomes '?': a name the client sent
// can never end the reply early or start a line of its own.
std::string smtp_reply(int code, std::string_view status, std::string_view text);

}  // namespace snigate::wire
