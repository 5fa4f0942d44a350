#pragma once
// What a provider that watches a store (etcd) reports about itself, for
// /metrics: whether its watch is up, the newest revision it has seen, and the
// revision of the configuration serving. A seen revision that stays ahead of
// the applied one is a change that does not load (a bad key blocks it).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace snigate::observe {

struct ProviderState {
  bool watching = false;
  std::int64_t seen = 0;     // newest revision the watch has reported
  std::int64_t applied = 0;  // revision of the configuration serving; 0: none of it yet
};

void set_provider_watching(std::string_view provider, bool watching);
void set_provider_seen(std::string_view provider, std::int64_t revision);
void set_provider_applied(std::string_view provider, std::int64_t revision);

// Every provider that has reported, by name.
std::map<std::string, ProviderState> provider_states();

}  // namespace snigate::observe
