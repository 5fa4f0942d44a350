#pragma once
// The CA's validation requests, answered on the listeners while an order
// waits for them (acme/challenges.hpp): a ClientHello that offers only
// acme-tls/1 for a name with a pending TLS-ALPN-01 challenge, and an HTTP
// GET /.well-known/acme-challenge/<token> on the httpChallenge entry point.
// Every other client goes on to the routers as if this did not exist.
#include "net/asio.hpp"
#include "session/conn.hpp"
#include "session/refusal.hpp"

namespace snigate::session {

// After the ClientHello: the challenge answered (a Refusal that ends the
// connection as "acme_challenge"), or nothing when it is not one.
net::awaitable<Refused> answer_tls_alpn(Conn& c);

// After plain first bytes on the httpChallenge entry point: reads the request
// head when the bytes start like HTTP, and answers a challenge, or a plain
// 404 when the entry point has no plain router to pass other requests to.
// Whatever was read stays in c.client.buf for the router.
net::awaitable<Refused> answer_http01(Conn& c);

}  // namespace snigate::session
