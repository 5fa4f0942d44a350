// libFuzzer target for the MySQL authentication relay (session/mysql_auth),
// driven by arbitrary server packets. The input's first byte says whether
// snigate's link to the server is TLS (bit 0) and which plugin the server's
// greeting named (the rest); then come framed packets, each payload one
// on_server step. After each step the relay's promises are checked: a refusal
// always says why, the step agrees with the packet's first byte, and only
// caching_sha2_password's fast-auth OK lets the server speak again unasked.
#include <array>
#include <cstdlib>
#include <string_view>

#include "session/mysql_auth.hpp"

namespace {

namespace sm = snigate::session::mysql;
namespace wm = snigate::wire::mysql;

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr std::array<std::string_view, 6> kPlugins{wm::kNativePassword, wm::kCachingSha2Password,
                                                   wm::kSha256Password,  "mysql_clear_password",
                                                   "dialog",             "client_ed25519"};

// One server packet. false: the exchange ended (the caller starts another).
bool step(sm::AuthRelay& relay, wm::ByteView payload) {
  const std::string plugin_before = relay.plugin;
  const sm::Step s = relay.on_server(payload);
  const std::uint8_t first = payload.empty() ? 0 : payload[0];
  switch (s) {
    case sm::Step::relay_done_ok:
      check(first == 0x00 && relay.error.empty());
      return false;
    case sm::Step::relay_done_err:
      check(first == 0xff && relay.error.empty());
      return false;
    case sm::Step::relay_wait_server:
      check(first == 0x01 && payload.size() == 2 && payload[1] == wm::kSha2FastAuthOk &&
            relay.plugin == wm::kCachingSha2Password);
      return true;
    case sm::Step::relay_wait_client:
      check(relay.error.empty() && (first == 0x01 || first == 0xfe));
      if (first == 0x01) check(relay.plugin == plugin_before);
      if (first == 0xfe) check(relay.server_tls || !sm::sends_cleartext(relay.plugin));
      return true;
    case sm::Step::refuse:
      check(!relay.error.empty());
      return false;
  }
  check(false);
  return false;
}

sm::AuthRelay fresh(std::uint8_t setup) {
  sm::AuthRelay relay;
  relay.server_tls = setup & 1;
  const std::string_view plugin = kPlugins[(setup >> 1) % kPlugins.size()];
  const sm::Step s = relay.start(plugin);
  check(s == sm::Step::refuse ? !relay.server_tls && sm::sends_cleartext(plugin) && !relay.error.empty()
                              : s == sm::Step::relay_wait_client && relay.plugin == plugin);
  // A refused start leaves the plugin set: the fuzzer still drives it on.
  relay.error.clear();
  return relay;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t setup = bytes[0];
  wm::ByteView data(bytes + 1, size - 1);
  // The whole input as one payload, then as a stream of framed packets.
  sm::AuthRelay whole = fresh(setup);
  (void)step(whole, data);
  sm::AuthRelay relay = fresh(setup);
  while (!data.empty()) {
    wm::Packet p;
    if (wm::split_packet(data, p) != wm::Status::complete) break;
    if (!step(relay, p.payload)) relay = fresh(setup);
    data = data.subspan(p.wire_size);
  }
  return 0;
}
