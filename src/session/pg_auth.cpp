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

Step LoginRelay::on_server(wp::ByteView message) {
  if (message.empty()) return Step::read_server;
  if (pending.size() + message.size() > kMaxLoginPending) {
    refusal = Refusal::pending_too_large;
    return Step::refuse;
  }
  pending.insert(pending.end(), message.begin(), message.end());
  const wp::ByteView body = body_of(message);
  switch (static_cast<char>(message[0])) {
    case 'K':
      return wp::parse_backend_key_data(body, key) == wp::Status::complete ? Step::register_key : Step::read_server;
    case 'E':
      wp::parse_error_fields(body, error);
      return Step::server_refused;
    case 'Z':
      return Step::ready;
    case 'R':
      break;
    default:  // ParameterStatus, NoticeResponse, NegotiateProtocolVersion
      return Step::read_server;
  }
  wp::Authentication auth;
  if (wp::parse_authentication(body, auth) != wp::Status::complete) {
    refusal = Refusal::malformed_authentication;
    return Step::refuse;
  }
  if (auth.code == wp::kAuthSasl) {
    sasl_offered = awaiting_sasl_choice = true;
    plus_withheld = !binding_can_hold && std::ranges::find(auth.mechanisms, kScramPlus) != auth.mechanisms.end();
    // The client would bind to snigate's certificate (or, without TLS, refuse
    // PLUS outright): offered only what can succeed, libpq's
    // channel_binding=prefer logs in without binding.
    if (plus_withheld && !withhold_scram_plus(auth, message.size(), pending)) {
      refusal = Refusal::only_plus_offered;
      return Step::refuse;
    }
  }
  return wp::expects_client_reply(auth.code) ? Step::ask_client : Step::read_server;
}

// A client that answers the offer snigate withheld PLUS from by binding
// anyway, or with the GS2 flag 'y' ("I could bind"), which the server, able to
// bind, rejects as a downgrade (RFC 5802); it is right to, snigate being the
// party in the middle.
Step LoginRelay::on_client(wp::ByteView message) {
  if (!awaiting_sasl_choice) return Step::forward;
  awaiting_sasl_choice = false;
  wp::SaslInitialResponse first;
  if (plus_withheld && !message.empty() && message[0] == 'p' &&
      wp::parse_sasl_initial_response(body_of(message), first) == wp::Status::complete &&
      (first.mechanism == kScramPlus || first.gs2_flag != 'n')) {
    refusal = first.mechanism == kScramPlus ? Refusal::client_chose_plus : Refusal::client_could_bind;
    return Step::refuse;
  }
  return Step::forward;
}

wp::Bytes LoginRelay::take_pending() {
  wp::Bytes out;
  out.swap(pending);
  return out;
}

}  // namespace snigate::session::pg
