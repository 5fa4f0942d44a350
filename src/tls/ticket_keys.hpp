#pragma once
// TLS session tickets that survive a reload. A reload builds new SSL_CTXs,
// and OpenSSL gives each a random ticket key of its own: every client's next
// connection after a reload would make a full handshake. Instead, every
// server context seals its tickets with keys derived from a process-wide
// secret and from what the context is. A context rebuilt the same by a
// reload derives the same keys; one that differs in anything a resumed
// session skips (its settings, the client CAs it trusts, its certificate)
// derives others, so its tickets do not resume elsewhere.
//
// The secret changes every kTicketPeriod. A ticket is accepted in the
// period it was made in and in the two after (then renewed): at least the
// two hours OpenSSL tells clients a ticket lives. Older secrets, and the
// keys a context derived from them, are wiped at the first handshake that
// needs a newer one (lazily: a process without handshakes keeps its last
// ones), so a ticket older than three periods cannot be opened by anyone,
// this process included (forward secrecy, as Go's TLS rotates its keys).
#include <openssl/ssl.h>

#include <chrono>
#include <string_view>

namespace snigate::tls {

inline constexpr std::chrono::seconds kTicketPeriod{3600};

// identity: bytes that differ between any two contexts whose sessions must
// not resume in each other. Tickets stay on (SSL_CTX_set_num_tickets).
void seal_tickets_with_shared_keys(SSL_CTX* ctx, std::string_view identity);

// For tests: the clock the secret rotates by, in seconds; nullptr: time().
void set_ticket_clock(long (*now)());

}  // namespace snigate::tls
