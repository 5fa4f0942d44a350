#pragma once
// The user name a mail login carries in the clear, for routing a client that
// sent no SNI by the domain of its login: IMAP LOGIN's first argument (an
// atom or a quoted string, RFC 9051 9), and SASL PLAIN's authentication
// identity (RFC 4616) or LOGIN's user name, base64 in SMTP AUTH (RFC 4954).
// Pure and bounded.
#include <string>
#include <string_view>

namespace snigate::wire {

struct LoginUser {
  std::string user;
  std::string error;  // no user: what is wrong
};

// "alice@example.com secret" or "\"alice@example.com\" \"se cret\"". A
// literal ({n}) is an error: its bytes would follow only after an answer.
LoginUser imap_login_user(std::string_view arguments);

// base64 of authzid NUL authcid NUL password: the authcid.
LoginUser sasl_plain_user(std::string_view base64);

// base64 of the user name (SASL LOGIN's first answer).
LoginUser sasl_login_user(std::string_view base64);

// What follows the last '@' of a user name; "" when there is none.
std::string_view login_domain(std::string_view user);

}  // namespace snigate::wire
