#pragma once
// The pure half of the MySQL driver (session/mysql.cpp): which capabilities
// snigate offers and sends on, and what to do with each packet of the
// authentication exchange it relays between client and server. No I/O here,
// so every decision is unit-tested against recorded packet sequences.
#include <cstdint>
#include <string>
#include <string_view>

#include "wire/mysql.hpp"

namespace snigate::session::mysql {

namespace wm = wire::mysql;

// What snigate's greeting offers. Bit 0 (CLIENT_LONG_PASSWORD, MariaDB's
// CLIENT_MYSQL) is set, so MariaDB clients see a MySQL-style server and send
// no extended capabilities: the MariaDB-only wire extensions (progress
// reports, bulk operations, metadata cache) stay off on both legs. Not
// offered: CLIENT_COMPRESS (zlib framing, ZSTD too) which snigate would have to
// agree on with both sides at once, and the MySQL 8-only format flags (query
// attributes, optional metadata) that MariaDB servers lack.
inline constexpr std::uint64_t kOfferedCaps =
    wm::CLIENT_LONG_PASSWORD | wm::CLIENT_FOUND_ROWS | wm::CLIENT_LONG_FLAG | wm::CLIENT_CONNECT_WITH_DB |
    wm::CLIENT_NO_SCHEMA | wm::CLIENT_ODBC | wm::CLIENT_LOCAL_FILES | wm::CLIENT_IGNORE_SPACE | wm::CLIENT_PROTOCOL_41 |
    wm::CLIENT_INTERACTIVE | wm::CLIENT_SSL | wm::CLIENT_IGNORE_SIGPIPE | wm::CLIENT_TRANSACTIONS |
    wm::CLIENT_SECURE_CONNECTION | wm::CLIENT_MULTI_STATEMENTS | wm::CLIENT_MULTI_RESULTS |
    wm::CLIENT_PS_MULTI_RESULTS | wm::CLIENT_PLUGIN_AUTH | wm::CLIENT_CONNECT_ATTRS |
    wm::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | wm::CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS | wm::CLIENT_SESSION_TRACK |
    wm::CLIENT_DEPRECATE_EOF;

// The capabilities for the HandshakeResponse41 snigate sends the server, or an
// error text (for a kErrNotSupported ERR) when the two legs cannot agree.
struct Negotiated {
  std::uint64_t caps = 0;
  std::string error;  // non-empty: refuse
};
// client: what the client sent (only bits snigate offered can matter);
// server: the server's greeting; database: whether the client named one;
// server_tls: snigate will send the server an SSLRequest.
Negotiated negotiate(std::uint64_t client, std::uint64_t server, bool database, bool server_tls);

// Plugins whose client side sends the password in clear text when the link
// looks secure. The client's link to snigate is TLS, so the client would do
// so even when snigate's link to the server is plain: refused then.
bool sends_cleartext(std::string_view plugin);

// The authentication exchange after snigate has sent the server its
// HandshakeResponse41: one step per packet the server sends.
enum class Step {
  relay_wait_client,  // pass it to the client, then relay the client's answer to the server
  relay_wait_server,  // pass it to the client, then read the server again (no client answer)
  relay_done_ok,      // pass it to the client; authenticated: start relaying bytes
  relay_done_err,     // pass it to the client; the server refused: close
  refuse,             // send the client an ERR with `error` instead; close
};

struct AuthRelay {
  bool server_tls = false;  // snigate's link to the server is TLS
  std::string plugin;       // the plugin in use (the server's greeting, then each switch)
  std::string error;        // for Step::refuse: why, for the ERR message and the log

  // The first switch (snigate's AuthSwitchRequest carrying the server's plugin
  // and scramble): refuse when that plugin would expose a password.
  Step start(std::string_view server_plugin);
  Step on_server(wm::ByteView payload);
};

}  // namespace snigate::session::mysql
