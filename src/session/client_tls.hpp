#pragma once
// The client's TLS as snigate sees it: what its ClientHello says, the
// handshake when snigate terminates, and the alert when it refuses a client
// whose handshake it did not take. Every driver that meets TLS uses these.
#include <cstdint>
#include <string>
#include <string_view>

#include "net/asio.hpp"
#include "session/conn.hpp"
#include "session/refusal.hpp"
#include "wire/client_hello.hpp"

namespace snigate::session {

// Notes what a ClientHello says (SNI lower-cased, ALPN, version) in the
// opening, the facts and the access record.
void note_hello(Conn& c, const wire::ClientHello& hello);

// Reads the client's whole ClientHello into client.buf within what is left
// of clientHelloTimeout, and notes it. after_request: the client asked for
// TLS inside its protocol first (MySQL's and PostgreSQL's SSLRequest).
net::awaitable<Refused> read_hello(Conn& c, bool after_request);

// The alert (RFC 8446 6.2) that says a refusal to a client in its handshake.
std::uint8_t alert_for(Cause cause);

// A TLS alert to a client whose handshake snigate did not take, then a
// lingering close.
net::awaitable<void> send_alert(net::tcp::socket& sock, std::uint8_t description);

// The server side SSL for terminating a client: certificate chosen by SNI
// from the Snapshot's store, settings from tls.options. nullptr when sniStrict
// is set and no certificate names sni; why then says so.
tls::SslPtr terminating_ssl(const Snapshot& snap, const tls::ServerOptions& options, std::string_view sni,
                            std::string& why);

// The server side of the client's handshake on ssl, the ClientHello already
// read going first, within clientHelloTimeout. timed_out: the deadline ended it.
net::awaitable<bool> client_handshake(Conn& c, tls::SslPtr ssl, bool& timed_out);

// Terminates the client's TLS with options: the ClientHello in client.buf
// goes to OpenSSL first, and the handshake must be done within what is left
// of clientHelloTimeout. router: for the log ("" when not known yet). Notes
// the version and ALPN chosen in the access record.
net::awaitable<Refused> secure_client(Conn& c, const tls::ServerOptions& options, std::string_view router);

// For a driver that took the client's STARTTLS (mail, XMPP): whether a
// refusal can be said in the protocol, and the TLS to say it in. false: it
// was said with an alert, or cannot be said (nothing to tell, the client's
// TLS failed, or the client has the go-ahead for TLS and sent no whole
// ClientHello, so it reads nothing but TLS). An unknown name gets the alert
// that says so; a client with no name at all, or a passthrough route's
// failed server, gets snigate's TLS (default tls.options) to say more.
// upgrading: the client was told to start TLS.
net::awaitable<bool> ready_to_answer(Conn& c, const Refusal& r, bool upgrading);

}  // namespace snigate::session
