#include "policy/registry.hpp"

#include <map>
#include <mutex>

namespace snigate::policy {
namespace {

// Looked up only while a configuration is compiled; entries whose state is
// gone are dropped then.
template <class T>
std::shared_ptr<T> shared(std::map<std::string, std::weak_ptr<T>>& by_name, std::mutex& mu, const std::string& name) {
  std::lock_guard lock(mu);
  std::erase_if(by_name, [](const auto& e) { return e.second.expired(); });
  if (auto it = by_name.find(name); it != by_name.end())
    if (auto alive = it->second.lock()) return alive;
  auto made = std::make_shared<T>();
  by_name[name] = made;
  return made;
}

}  // namespace

std::shared_ptr<InFlightCounts> shared_in_flight(const std::string& middleware) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<InFlightCounts>> by_name;
  return shared(by_name, mu, middleware);
}

std::shared_ptr<RateBuckets> shared_rate_buckets(const std::string& middleware) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<RateBuckets>> by_name;
  return shared(by_name, mu, middleware);
}

}  // namespace snigate::policy
