// libFuzzer target for the ACME storage file (acme/storage: Traefik's
// acme.json layout). Any text is read without a crash; a read that succeeds
// yields certificates that each have a main name, and a refusal says why.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "acme/storage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const char* resolver : {"le", "other"}) {
    snigate::acme::ResolverState state;
    std::string error;
    if (snigate::acme::parse_storage(text, "fuzz.json", resolver, state, error)) {
      for (const auto& c : state.certs)
        if (c.main.empty() || c.cert_pem.empty() || c.key_pem.empty()) std::abort();
    } else if (error.empty()) {
      std::abort();
    }
  }
  return 0;
}
