// libFuzzer target for the PostgreSQL login relay (session/pg_auth), driven
// by arbitrary server and client messages in any order. The input's first
// byte says whether channel binding can hold; then each record is a control
// byte (bit 0: from the client; bits 1-7: how many times more a server sends
// it, to reach the pending bound with small inputs), a message type, a 16-bit
// body length and the body. After each step the relay's promises are
// checked: pending stays within its bound and is the server's messages, whole
// and in order, changed only by taking SCRAM-SHA-256-PLUS out of an offer.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "session/pg_auth.hpp"

namespace {

namespace pg = snigate::session::pg;
namespace wp = snigate::wire::postgres;

void check(bool ok) {
  if (!ok) std::abort();
}

bool offers_plus(wp::ByteView message) {
  wp::Message m;
  wp::Authentication a;
  return wp::split_message(message, m) == wp::Status::complete && m.type == 'R' &&
         wp::parse_authentication(m.body, a) == wp::Status::complete &&
         std::ranges::find(a.mechanisms, pg::kScramPlus) != a.mechanisms.end();
}

// The relay and what the driver expects of it.
struct Driver {
  pg::LoginRelay relay;
  std::vector<char> types;  // of the messages pending should hold, in order
  wp::Bytes held;           // pending as the last step left it

  // pending is whole messages of those types, none larger than one setup message.
  void check_pending() const {
    check(relay.pending.size() <= pg::kMaxLoginPending);
    wp::ByteView rest(relay.pending);
    std::size_t n = 0;
    while (!rest.empty()) {
      wp::Message m;
      check(wp::split_message(rest, m) == wp::Status::complete);
      check(n < types.size() && m.type == types[n++]);
      rest = rest.subspan(m.wire_size);
    }
    check(n == types.size());
  }

  // false: the login ended (the caller starts another).
  bool server(wp::ByteView message) {
    const pg::LoginStep step = relay.on_server(message);
    const wp::ByteView after(relay.pending);
    if (step == pg::LoginStep::refuse && relay.refusal == pg::LoginRefusal::pending_too_large) {
      check(held.size() + message.size() > pg::kMaxLoginPending && relay.pending == held);
      return false;
    }
    types.push_back(static_cast<char>(message[0]));
    check_pending();
    // Nothing before the new message changes.
    check(after.size() >= held.size() && std::equal(held.begin(), held.end(), after.begin()));
    const wp::ByteView added = after.subspan(held.size());
    held.insert(held.end(), added.begin(), added.end());
    const bool rewritten = !relay.binding_can_hold && offers_plus(message) && step != pg::LoginStep::refuse;
    check(rewritten ? !offers_plus(added) && added.size() < message.size()
                    : std::ranges::equal(added, message));
    switch (step) {
      case pg::LoginStep::register_key:
        check(message[0] == 'K' && relay.key.key.size() >= 4 && relay.key.key.size() <= wp::kMaxCancelKey);
        return true;
      case pg::LoginStep::read_server:
        return true;
      case pg::LoginStep::ask_client:
        check(message[0] == 'R');
        check(relay.take_pending() == held && relay.pending.empty());
        types.clear();
        held.clear();
        return true;
      case pg::LoginStep::refuse:
        check(message[0] == 'R');
        check(relay.refusal == pg::LoginRefusal::malformed_authentication ||
              (relay.refusal == pg::LoginRefusal::only_plus_offered && !relay.binding_can_hold && relay.plus_withheld));
        return false;
      case pg::LoginStep::ready:
        check(message[0] == 'Z');
        return false;
      case pg::LoginStep::server_refused:
        check(message[0] == 'E');
        return false;
      case pg::LoginStep::forward:
        break;
    }
    check(false);  // forward answers the client only
    return false;
  }

  bool client(wp::ByteView message) {
    const bool was_awaiting = relay.awaiting_sasl_choice;
    const pg::LoginStep step = relay.on_client(message);
    check(!relay.awaiting_sasl_choice);
    if (step == pg::LoginStep::forward) return true;
    check(step == pg::LoginStep::refuse && was_awaiting && relay.plus_withheld && !relay.binding_can_hold &&
          message[0] == 'p');
    check(relay.refusal == pg::LoginRefusal::client_chose_plus || relay.refusal == pg::LoginRefusal::client_could_bind);
    return false;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 1) return 0;
  const bool binding_can_hold = bytes[0] & 1;
  wp::ByteView data(bytes + 1, size - 1);
  Driver d;
  d.relay.binding_can_hold = binding_can_hold;
  while (data.size() >= 4) {
    const std::uint8_t control = data[0];
    const std::size_t len = std::min<std::size_t>(data.size() - 4, (std::size_t{data[2]} << 8) | data[3]);
    const wp::Bytes message = wp::encode_message(static_cast<char>(data[1]), data.subspan(4, len));
    data = data.subspan(4 + len);
    bool goes_on = true;
    if (control & 1) {
      goes_on = d.client(message);
    } else {
      for (int i = 0; i <= control >> 1 && goes_on; ++i) goes_on = d.server(message);
    }
    if (!goes_on) {
      d = Driver{};
      d.relay.binding_can_hold = binding_can_hold;
    }
  }
  return 0;
}
