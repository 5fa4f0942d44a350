#pragma once
// Why no router takes a client, or why the one chosen does not, in words an
// operator (the log) and the client (its protocol's error) can act on. What
// differs between protocols here is text: how their clients send a name.
#include <span>
#include <string>

#include "rule/facts.hpp"
#include "session/refusal.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {

std::string explain_no_route(const EntryRoutes& entry, const Facts& facts);

// No route for facts; from_user: the name is user@host's host part.
Refusal no_route_refusal(const EntryRoutes& entry, const Facts& facts, bool from_user);

// Route r passes TLS through, but snigate ended the client's TLS itself (to
// read user@host, the client having sent no SNI).
Refusal passthrough_refusal(const EntryRoutes& entry, const Route& r);

// Route r requires tls.options other than those the client's handshake used
// (why: options_mismatch's words).
Refusal options_refusal(const EntryRoutes& entry, const Route& r, std::string why);

// A database client without TLS, and route r does not allow plaintext.
Refusal plaintext_refusal(const EntryRoutes& entry, const Route& r);

// Names joined with commas, as the access log and explanations print an
// ALPN list. Runs for every TLS connection: no format machinery.
std::string comma_joined(std::span<const std::string> names);

}  // namespace snigate::session
