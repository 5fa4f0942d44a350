#include "session/pg_auth.hpp"

#include <algorithm>

namespace snigate::session::pg {

namespace {

// A whole message's body (what follows the type byte and length word).
wp::ByteView body_of(wp::ByteView message) { return message.size() < 5 ? wp::ByteView{} : message.subspan(5); }

}  // namespace

bool withhold_scram_plus(wp::Authentication& offer, std::size_t offer_size, wp::Bytes& pending) {
  std::erase(offer.mechanisms, kScramPlus);
  if (offer.mechanisms.empty()) return false;
  const wp::Bytes rest = wp::encode_authentication_sasl(offer.mechanisms);
  pending.resize(pending.size() - offer_size);
  pending.insert(pending.end(), rest.begin(), rest.end());
  return true;
}

LoginStep LoginRelay::on_server(wp::ByteView message) {
  if (message.empty()) return LoginStep::read_server;
  if (pending.size() + message.size() > kMaxLoginPending) {
    refusal = LoginRefusal::pending_too_large;
    return LoginStep::refuse;
  }
  pending.insert(pending.end(), message.begin(), message.end());
  const wp::ByteView body = body_of(message);
  switch (static_cast<char>(message[0])) {
    case 'K':
      return wp::parse_backend_key_data(body, key) == wp::Status::complete ? LoginStep::register_key : LoginStep::read_server;
    case 'E':
      wp::parse_error_fields(body, error);
      return LoginStep::server_refused;
    case 'Z':
      return LoginStep::ready;
    case 'R':
      break;
    default:  // ParameterStatus, NoticeResponse, NegotiateProtocolVersion
      return LoginStep::read_server;
  }
  wp::Authentication auth;
  if (wp::parse_authentication(body, auth) != wp::Status::complete) {
    refusal = LoginRefusal::malformed_authentication;
    return LoginStep::refuse;
  }
  if (auth.code == wp::kAuthSasl) {
    sasl_offered = awaiting_sasl_choice = true;
    plus_withheld = !binding_can_hold && std::ranges::find(auth.mechanisms, kScramPlus) != auth.mechanisms.end();
    // The client would bind to snigate's certificate (or, without TLS, refuse
    // PLUS outright): offered only what can succeed, libpq's
    // channel_binding=prefer logs in without binding.
    if (plus_withheld && !withhold_scram_plus(auth, message.size(), pending)) {
      refusal = LoginRefusal::only_plus_offered;
      return LoginStep::refuse;
    }
  }
  return wp::expects_client_reply(auth.code) ? LoginStep::ask_client : LoginStep::read_server;
}

// A client that answers the offer snigate withheld PLUS from by binding
// anyway, or with the GS2 flag 'y' ("I could bind"), which the server, able to
// bind, rejects as a downgrade (RFC 5802); it is right to, snigate being the
// party in the middle.
LoginStep LoginRelay::on_client(wp::ByteView message) {
  if (!awaiting_sasl_choice) return LoginStep::forward;
  awaiting_sasl_choice = false;
  wp::SaslInitialResponse first;
  if (plus_withheld && !message.empty() && message[0] == 'p' &&
      wp::parse_sasl_initial_response(body_of(message), first) == wp::Status::complete &&
      (first.mechanism == kScramPlus || first.gs2_flag != 'n')) {
    refusal = first.mechanism == kScramPlus ? LoginRefusal::client_chose_plus : LoginRefusal::client_could_bind;
    return LoginStep::refuse;
  }
  return LoginStep::forward;
}

wp::Bytes LoginRelay::take_pending() {
  wp::Bytes out;
  out.swap(pending);
  return out;
}

}  // namespace snigate::session::pg
