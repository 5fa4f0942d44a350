#include "observe/provider_state.hpp"

#include <mutex>

namespace snigate::observe {

namespace {

struct Providers {
  std::mutex mutex;  // the watcher's thread writes, the main thread and the admin thread read
  std::map<std::string, ProviderState, std::less<>> by_name;
};

Providers& providers() {
  static Providers p;
  return p;
}

template <class F>
void update(std::string_view provider, F&& f) {
  Providers& p = providers();
  std::lock_guard lock(p.mutex);
  auto it = p.by_name.find(provider);
  if (it == p.by_name.end()) it = p.by_name.emplace(std::string(provider), ProviderState{}).first;
  f(it->second);
}

}  // namespace

void set_provider_watching(std::string_view provider, bool watching) {
  update(provider, [&](ProviderState& s) { s.watching = watching; });
}

void set_provider_seen(std::string_view provider, std::int64_t revision) {
  update(provider, [&](ProviderState& s) { s.seen = revision; });
}

void set_provider_applied(std::string_view provider, std::int64_t revision) {
  update(provider, [&](ProviderState& s) { s.applied = revision; });
}

std::map<std::string, ProviderState> provider_states() {
  Providers& p = providers();
  std::lock_guard lock(p.mutex);
  return {p.by_name.begin(), p.by_name.end()};
}

}  // namespace snigate::observe
