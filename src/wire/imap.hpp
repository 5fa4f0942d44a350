#pragma once
// IMAP lines (RFC 9051): a client's command (tag, name, arguments, and the
// literal its line may announce) and a server's response line (untagged,
// continuation or tagged, its status, response code and text), for a gateway
// that answers CAPABILITY and STARTTLS itself and reads a server's greeting.
// Pure: it looks at one line (wire/text_line finds it).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace snigate::wire {

struct ImapCommand {
  std::string_view tag;
  std::string name;             // upper-cased: "CAPABILITY", "STARTTLS", "LOGIN"
  std::string_view arguments;   // the rest of the line, a literal's announcement included
  bool has_literal = false;     // the line ends with {n} or {n+}: n bytes follow its line end
  std::size_t literal = 0;
  bool literal_plus = false;    // {n+} (RFC 7888): the client does not wait for "+"
  std::string error;            // not a command: what is wrong, and at which byte
};

// A literal over max_literal bytes is an error.
ImapCommand parse_imap_command(std::string_view line, std::size_t max_literal = 4096);

enum class ImapResponseKind { untagged, continuation, tagged };

struct ImapResponse {
  ImapResponseKind kind = ImapResponseKind::untagged;
  std::string_view tag;   // tagged only
  std::string status;     // upper-cased: OK, NO, BAD, PREAUTH, BYE, or untagged data's name (CAPABILITY)
  std::string_view code;  // inside "[...]" right after the status: "CAPABILITY IMAP4rev1 STARTTLS"
  std::string_view text;  // the rest
  std::string error;
};

ImapResponse parse_imap_response(std::string_view line);

// The atoms of a capability list, upper-cased: "IMAP4rev1 STARTTLS
// AUTH=PLAIN" -> IMAP4REV1, STARTTLS, AUTH=PLAIN.
std::vector<std::string> imap_capabilities(std::string_view list);

}  // namespace snigate::wire
