// libFuzzer target for the PROXY protocol parser. Besides the whole input, it
// replays every prefix (the session peeks again after each arrival) and checks
// what callers rely on: a decision does not change when more bytes come, a
// header never claims more than it was given, need_more asks for at least one
// byte, and a parsed header encodes to bytes that parse to the same addresses.
#include <cstdlib>

#include "wire/proxy_protocol.hpp"

namespace {

namespace proxy = snigate::wire::proxy;

void check(bool ok) {
  if (!ok) std::abort();
}

proxy::Parsed run(std::span<const std::uint8_t> data) {
  proxy::Header h;
  const proxy::Parsed p = proxy::parse(data, h);
  if (p.status == proxy::Status::need_more) check(p.need >= 1);
  if (p.status == proxy::Status::bad) check(!p.error.empty());
  if (p.status == proxy::Status::complete) {
    check(h.length > 0 && h.length <= data.size());
    check(h.length <= (h.version == 1 ? proxy::kMaxV1 : proxy::kMaxV2));
    if (h.has_addresses) {
      proxy::Header again;
      const std::vector<std::uint8_t> two = proxy::encode_v2(h.source, h.destination);
      check(proxy::parse(two, again).status == proxy::Status::complete && again.source == h.source &&
            again.destination == h.destination);
      const std::vector<std::uint8_t> one = proxy::encode_v1(h.source, h.destination);
      check(proxy::parse(one, again).status == proxy::Status::complete && again.source.port == h.source.port);
    }
    for (const proxy::Tlv& t : h.tlvs)
      if (t.type == proxy::kTypeSsl) (void)proxy::read_ssl(t.value);
  }
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::span<const std::uint8_t> data(bytes, size);
  const proxy::Parsed whole = run(data);
  const std::size_t step = size <= 512 ? 1 : size / 256 + 1;
  for (std::size_t n = 0; n < size; n += step) {
    const proxy::Parsed part = run(data.first(n));
    if (part.status != proxy::Status::need_more) {
      check(part.status == whole.status);
      break;
    }
    check(n + part.need <= size || whole.status != proxy::Status::complete);
  }
  return 0;
}
