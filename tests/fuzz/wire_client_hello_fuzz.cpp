// libFuzzer target for the ClientHello parser. Besides the whole input, it
// replays the input as successive reads (every prefix up to a bound), since
// the session calls parse again with a longer buffer after each read, and
// checks the invariants callers rely on.
#include <cstdlib>

#include "wire/client_hello.hpp"

namespace {

using snigate::wire::ClientHello;
using snigate::wire::HelloStatus;

void check(bool ok) {
  if (!ok) std::abort();
}

HelloStatus run(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& scratch) {
  ClientHello hello;
  std::string error;
  const HelloStatus status = snigate::wire::parse_client_hello(data, scratch, hello, &error);
  if (status == HelloStatus::complete) {
    check(hello.record_bytes > 0 && hello.record_bytes <= data.size());
    check(hello.record_bytes <= snigate::wire::kMaxClientHello);
    check(hello.sni.size() <= 255 && (hello.sni_count == 0) == hello.sni.empty());
    for (const auto& name : hello.alpn()) check(!name.empty());
    (void)hello.max_version();
    (void)snigate::wire::tls_version_name(hello.max_version());
  }
  if (status == HelloStatus::malformed) check(!error.empty());
  return status;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::span<const std::uint8_t> data(bytes, size);
  std::vector<std::uint8_t> scratch;
  const HelloStatus whole = run(data, scratch);

  // A decision, once made, must not change when more bytes arrive: replay the
  // input as reads. All prefixes for small inputs; a stride for large ones.
  const std::size_t step = size <= 512 ? 1 : size / 256 + 1;
  for (std::size_t n = 0; n < size; n += step) {
    const HelloStatus part = run(data.first(n), scratch);
    if (part != HelloStatus::need_more) {
      check(part == whole);
      break;
    }
  }
  return 0;
}
