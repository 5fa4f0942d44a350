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

NameReport explain_name(const config::AcmeResolver& resolver, const std::string& name) {
  bool running = false;
  const std::string status = running_status(name, running);
  if (running) {
    auto held = issued().info(name);
    if (!held || held->resolver != resolver.name) {
      return {fmt::format("resolver {} has none for it yet, so the default certificate is served{}", resolver.name,
                          status.empty() ? "" : "; " + status),
              nullptr};
    }
    return {fmt::format("resolver {} issued it, valid until {}{}", resolver.name, utc(held->not_after),
                        status.empty() ? "" : "; " + status),
            held->cert};
  }
  const std::string where = resolver.etcd_key.empty() ? resolver.storage : "etcd key " + resolver.etcd_key;
  if (!resolver.etcd_key.empty())
    return {fmt::format("resolver {} keeps its certificates in {}, which only the running gateway reads", resolver.name,
                        where),
            nullptr, true};
  ResolverState state;
  std::string error;
  if (!read_storage(resolver.storage, resolver.name, state, error))
    return {fmt::format("resolver {}: its storage cannot be read: {}", resolver.name, error), nullptr};
  for (const StoredCert& c : state.certs) {
    if (c.main != name && std::ranges::find(c.sans, name) == c.sans.end()) continue;
    auto cert = tls::load_cert(c.cert_pem, c.key_pem, error);
    if (!cert)
      return {fmt::format("resolver {}: the certificate stored for it does not load: {}", resolver.name, error),
              nullptr};
    std::const_pointer_cast<tls::Cert>(cert)->origin = "ACME resolver " + resolver.name;
    const auto until = not_after(cert->leaf.get());
    return {fmt::format("resolver {} holds one in {}, valid until {}{}", resolver.name, where, utc(until),
                        until <= std::chrono::system_clock::now() ? " (EXPIRED: renewed when snigate runs)" : ""),
            cert};
  }
  return {fmt::format("resolver {} holds none in {} yet: snigate orders it when it runs and serves the default "
                      "certificate until then",
                      resolver.name, where),
          nullptr};
}

}  // namespace snigate::acme
