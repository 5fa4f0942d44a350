#include "session/mysql_auth.hpp"

#include <fmt/format.h>

namespace snigate::session::mysql {

namespace {

std::string cap_names(std::uint64_t caps) {
  static constexpr std::pair<std::uint64_t, const char*> kNames[] = {
      {wm::CLIENT_FOUND_ROWS, "CLIENT_FOUND_ROWS"},
      {wm::CLIENT_COMPRESS, "CLIENT_COMPRESS"},
      {wm::CLIENT_PROTOCOL_41, "CLIENT_PROTOCOL_41"},
      {wm::CLIENT_MULTI_RESULTS, "CLIENT_MULTI_RESULTS"},
      {wm::CLIENT_PS_MULTI_RESULTS, "CLIENT_PS_MULTI_RESULTS"},
      {wm::CLIENT_SESSION_TRACK, "CLIENT_SESSION_TRACK"},
      {wm::CLIENT_DEPRECATE_EOF, "CLIENT_DEPRECATE_EOF"},
      {wm::CLIENT_OPTIONAL_RESULTSET_METADATA, "CLIENT_OPTIONAL_RESULTSET_METADATA"},
      {wm::CLIENT_ZSTD_COMPRESSION_ALGORITHM, "CLIENT_ZSTD_COMPRESSION_ALGORITHM"},
      {wm::CLIENT_QUERY_ATTRIBUTES, "CLIENT_QUERY_ATTRIBUTES"},
      {wm::CLIENT_PLUGIN_AUTH, "CLIENT_PLUGIN_AUTH"},
      {wm::CLIENT_SECURE_CONNECTION, "CLIENT_SECURE_CONNECTION"},
      {wm::CLIENT_SSL, "CLIENT_SSL"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames)
    if (caps & bit) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

}  // namespace

Negotiated negotiate(std::uint64_t client, std::uint64_t server, bool database, bool server_tls) {
  Negotiated n;
  // Only the low 32 bits: snigate's greeting sets CLIENT_MYSQL, so MariaDB
  // extended capabilities were never agreed with the client.
  client &= kOfferedCaps;
  server &= 0xffffffffULL;
  // snigate itself needs these from the server to put the client's answer to
  // the server's own challenge into a 4.1 response.
  constexpr std::uint64_t kRequired = wm::CLIENT_PROTOCOL_41 | wm::CLIENT_SECURE_CONNECTION | wm::CLIENT_PLUGIN_AUTH;
  if (const std::uint64_t missing = kRequired & ~server) {
    n.error = "the server does not support " + cap_names(missing) + " (a MySQL 5.5+ or MariaDB server is needed)";
    return n;
  }
  if (server_tls && !(server & wm::CLIENT_SSL)) {
    n.error = "the server has tls: true in snigate's configuration but does not offer TLS (CLIENT_SSL)";
    return n;
  }
  // Bytes after authentication are relayed untouched: a format flag the
  // client chose must be the server's too.
  if (const std::uint64_t missing = client & wm::kWireFormatCaps & ~server) {
    n.error = "the client asked for " + cap_names(missing) + ", which the server does not support";
    return n;
  }
  n.caps = (client & server) | wm::CLIENT_LONG_PASSWORD | kRequired;
  if (!database) n.caps &= ~wm::CLIENT_CONNECT_WITH_DB;
  if (server_tls)
    n.caps |= wm::CLIENT_SSL;
  else
    n.caps &= ~wm::CLIENT_SSL;
  n.caps &= ~(wm::CLIENT_COMPRESS | wm::CLIENT_ZSTD_COMPRESSION_ALGORITHM);
  return n;
}

bool sends_cleartext(std::string_view plugin) {
  // sha256_password and caching_sha2_password's full authentication send the
  // password itself over a secure link; mysql_clear_password and MariaDB's
  // dialog (PAM) always do.
  return plugin == wm::kSha256Password || plugin == "mysql_clear_password" || plugin == "dialog";
}

Step AuthRelay::start(std::string_view server_plugin) {
  plugin = server_plugin;
  if (!server_tls && sends_cleartext(plugin)) {
    error = fmt::format(
        "the server asks for {}, which would send the password in clear text over snigate's "
        "plain link to the server; set tls: true on the server",
        plugin);
    return Step::refuse;
  }
  return Step::relay_wait_client;
}

Step AuthRelay::on_server(wm::ByteView payload) {
  switch (wm::classify_auth_reply(payload)) {
    case wm::AuthReply::ok:
      return Step::relay_done_ok;
    case wm::AuthReply::err:
      return Step::relay_done_err;
    case wm::AuthReply::auth_switch: {
      wm::AuthSwitchRequest sw;
      std::string why;
      if (wm::parse_auth_switch(payload, sw, &why) != wm::Status::complete) {
        error = "the server sent a malformed auth switch: " + why;
        return Step::refuse;
      }
      return start(sw.plugin);
    }
    case wm::AuthReply::more_data: {
      wm::Bytes data;
      std::string why;
      if (wm::parse_auth_more_data(payload, data, &why) != wm::Status::complete) {
        error = "the server sent malformed auth data: " + why;
        return Step::refuse;
      }
      if (plugin == wm::kCachingSha2Password && data.size() == 1) {
        // Fast auth: the server's cache matched; its OK follows unasked.
        if (data[0] == wm::kSha2FastAuthOk) return Step::relay_wait_server;
        // Full auth: over TLS the client answers with its password; over a
        // plain link it would need the server's RSA key, which snigate does
        // not do (it would have to know the password).
        if (data[0] == wm::kSha2PerformFullAuth && !server_tls) {
          error =
              "caching_sha2_password needs full authentication (the server has not cached this account), "
              "which snigate relays only over a TLS link to the server; set tls: true on the server, or "
              "log in once directly so the server caches the account";
          return Step::refuse;
        }
      }
      return Step::relay_wait_client;
    }
    case wm::AuthReply::unknown:
      break;
  }
  error = fmt::format("the server sent an unexpected packet (first byte 0x{:02x}) during authentication",
                      payload.empty() ? 0 : payload[0]);
  return Step::refuse;
}

}  // namespace snigate::session::mysql
