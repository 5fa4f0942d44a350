#pragma once
// The pure half of the PostgreSQL login relay (session/pg_login.cpp): what to
// do with each message the server or the client sends between the
// StartupMessage and ReadyForQuery. Server messages go to the client
// unchanged, batched until the client must answer; client answers go to the
// server unchanged. snigate only reads BackendKeyData (so it can route a later
// cancel), ErrorResponse (for its log), and the SCRAM mechanisms offered and
// chosen, to stop a channel binding that cannot hold with a clear error
// instead of the server's puzzling one. No I/O here, so every decision is
// unit-tested and fuzzed.
#include <cstddef>
#include <string_view>

#include "wire/postgres.hpp"

namespace snigate::session::pg {

namespace wp = wire::postgres;

inline constexpr std::string_view kScramPlus = "SCRAM-SHA-256-PLUS";

// What the server may send before the client must answer, held until then.
// A real login sends a few KiB at most (ParameterStatus, BackendKeyData, the
// odd notice) around one authentication request, which may itself be as large
// as a setup message can be (a GSSAPI token): twice that leaves room for both
// and stops a server that never asks the client anything from growing it.
inline constexpr std::size_t kMaxLoginPending = 2 * wp::kMaxSetupMessage;

// What the I/O loop does next.
enum class LoginStep {
  read_server,     // read the server's next message
  register_key,    // note `key` for later cancels, then read the server's next message
  ask_client,      // send the client take_pending(), read its answer and pass it to on_client
  forward,         // send the client's message to the server, then read the server's next message
  ready,           // send the client take_pending(); ReadyForQuery: the login is done
  server_refused,  // send the client take_pending() (ending with the server's ErrorResponse, read into
                   // `error`), then close
  refuse,          // send the client snigate's own ErrorResponse for `refusal` instead, then close
};

// Why snigate stops a login itself.
enum class LoginRefusal {
  pending_too_large,         // the server sent more than kMaxLoginPending without asking the client anything
  malformed_authentication,  // an Authentication message that does not parse
  only_plus_offered,         // binding cannot hold, and the server offers no mechanism but SCRAM-SHA-256-PLUS
  client_chose_plus,         // binding cannot hold, and the client chose SCRAM-SHA-256-PLUS anyway
  client_could_bind,         // binding cannot hold, and the client's GS2 flag says it can bind ('y' or 'p')
};

struct LoginRelay {
  // Set by the caller: SCRAM channel binding (tls-server-end-point) hashes the
  // certificate the client saw, and the server checks it against its own, so
  // it holds only when snigate presented the very certificate the server has.
  bool binding_can_hold = false;

  wp::CancelRequest key;  // for LoginStep::register_key
  wp::ErrorFields error;  // for LoginStep::server_refused
  LoginRefusal refusal{};      // for LoginStep::refuse

  // What the server sent that the client has not been given yet: whole
  // messages, in order, with SCRAM-SHA-256-PLUS taken out of an offer when
  // binding cannot hold.
  wp::Bytes pending;
  bool sasl_offered = false;          // the server has asked for SASL at least once
  bool awaiting_sasl_choice = false;  // the client's next message answers a SASL offer
  bool plus_withheld = false;         // the last SASL offer named SCRAM-SHA-256-PLUS and binding cannot hold

  // message: one whole message (type byte and length word included), as read.
  LoginStep on_server(wp::ByteView message);
  // The client's answer after LoginStep::ask_client: LoginStep::forward or LoginStep::refuse.
  LoginStep on_client(wp::ByteView message);
  // pending, which is left empty.
  wp::Bytes take_pending();
};

// Takes SCRAM-SHA-256-PLUS out of the offer at the end of pending (the
// server's AuthenticationSASL, offer_size bytes). false: nothing else is
// offered, and pending is left as it was.
bool withhold_scram_plus(wp::Authentication& offer, std::size_t offer_size, wp::Bytes& pending);

}  // namespace snigate::session::pg
