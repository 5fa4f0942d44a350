#include "acme/explain.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>

#include "acme/issued.hpp"
#include "acme/manager.hpp"
#include "acme/storage.hpp"

namespace snigate::acme {
namespace {

std::string utc(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<std::chrono::seconds>(t));
}

}  // namespace

std::string explain_name(const config::AcmeResolver& resolver, const std::string& name) {
  bool running = false;
  const std::string status = running_status(name, running);
  if (running) {
    auto held = issued().info(name);
    std::string text = held && held->resolver == resolver.name
                           ? fmt::format("resolver {} issued it, valid until {}", resolver.name, utc(held->not_after))
                           : fmt::format("resolver {} has none for it yet, so the default certificate is served",
                                         resolver.name);
    if (!status.empty()) text += "; " + status;
    return text;
  }
  ResolverState state;
  std::string error;
  if (!read_storage(resolver.storage, resolver.name, state, error))
    return fmt::format("resolver {}: its storage cannot be read: {}", resolver.name, error);
  for (const StoredCert& c : state.certs) {
    if (c.main != name && std::ranges::find(c.sans, name) == c.sans.end()) continue;
    auto cert = tls::load_cert(c.cert_pem, c.key_pem, error);
    if (!cert) return fmt::format("resolver {}: the certificate stored for it does not load: {}", resolver.name, error);
    const auto until = not_after(cert->leaf.get());
    return fmt::format("resolver {} holds one in {}, valid until {}{}", resolver.name, resolver.storage, utc(until),
                       until <= std::chrono::system_clock::now() ? " (EXPIRED: renewed when snigate runs)" : "");
  }
  return fmt::format("resolver {} holds none in {} yet: snigate orders it when it runs and serves the default "
                     "certificate until then",
                     resolver.name, resolver.storage);
}

}  // namespace snigate::acme
