#include "acme/fleet.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "acme/challenges.hpp"
#include "kv/etcd.hpp"
#include "kv/session.hpp"
#include "wire/base64.hpp"

namespace snigate::acme {

using nlohmann::json;

namespace {

constexpr std::chrono::seconds kCallTimeout{5};
// Longer than any order takes; an instance that dies holding it frees it then.
constexpr int kLockTtlSeconds = 300;

std::string b64(std::string_view s) { return wire::base64_encode(s); }

kv::CallResult call(const config::EtcdProvider& etcd, std::string_view path, const json& body) {
  kv::Session s;
  s.opts = etcd;
  return kv::call_any(s, path, body.dump(), std::chrono::duration_cast<std::chrono::milliseconds>(kCallTimeout));
}

std::string this_instance() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return fmt::format("{}/{}", host, ::getpid());
}

// The challenges P/challenge/<type>/<id> hold, as "type/id" -> key authorization.
std::map<std::string, std::string> challenges_in(const config::KvPairs& all, const std::string& prefix) {
  std::map<std::string, std::string> out;
  const std::string at = prefix + "/challenge/";
  for (auto it = all.lower_bound(at); it != all.end() && it->first.starts_with(at); ++it)
    out[it->first.substr(at.size())] = it->second;
  return out;
}

void post_to_board(const std::string& type_id, const std::string& key_auth) {
  const auto slash = type_id.find('/');
  if (slash == std::string::npos) return;
  const std::string type = type_id.substr(0, slash), id = type_id.substr(slash + 1);
  if (type == "tls-alpn-01") board().post_tls_alpn(id, tls_alpn_cert(id, key_auth));
  else if (type == "http-01") board().post_http(id, key_auth);
}

void withdraw_from_board(const std::string& type_id) {
  const auto slash = type_id.find('/');
  if (slash == std::string::npos) return;
  const std::string type = type_id.substr(0, slash), id = type_id.substr(slash + 1);
  board().withdraw(type == "tls-alpn-01" ? id : "", type == "http-01" ? id : "");
}

}  // namespace

FleetStore::FleetStore(const config::EtcdProvider& etcd, std::string prefix, std::string resolver)
    : etcd_(etcd), prefix_(std::move(prefix)), resolver_(std::move(resolver)), instance_(this_instance()) {}

FleetStore::~FleetStore() {
  watcher_.reset();
  unlock();
}

bool FleetStore::read(ResolverState& out, std::string& error) {
  auto r = kv::read_prefix(etcd_, prefix_ + "/state", std::chrono::milliseconds(5000), error);
  if (!r) return false;
  auto it = r->pairs.find(prefix_ + "/state");
  const std::string text = it == r->pairs.end() ? "" : "{\"" + resolver_ + "\":" + it->second + "}";
  return parse_storage(text, "etcd key " + prefix_ + "/state", resolver_, out, error);
}

void FleetStore::watch(std::function<void(const ResolverState&)> on_state) {
  auto known = std::make_shared<std::set<std::string>>();  // challenges this watch posted
  auto last_state = std::make_shared<std::string>();
  watcher_ = std::make_unique<kv::EtcdWatcher>(
      etcd_, prefix_ + "/",
      [this, on_state, known, last_state](const config::KvPairs& all, std::int64_t, const std::vector<std::string>&) {
        const auto now = challenges_in(all, prefix_);
        for (const auto& [type_id, key_auth] : now)
          if (known->insert(type_id).second) post_to_board(type_id, key_auth);
        for (auto it = known->begin(); it != known->end();) {
          if (now.count(*it)) {
            ++it;
            continue;
          }
          withdraw_from_board(*it);
          it = known->erase(it);
        }
        auto st = all.find(prefix_ + "/state");
        if (st == all.end() || st->second == *last_state) return;
        *last_state = st->second;
        ResolverState state;
        std::string error;
        if (parse_storage("{\"" + resolver_ + "\":" + st->second + "}", "etcd key " + st->first, resolver_, state,
                          error))
          on_state(state);
        else
          spdlog::error("ACME {}: {}", resolver_, error);
      },
      std::nullopt, "");
}

bool FleetStore::try_lock(std::string& holder, std::string& error) {
  kv::CallResult grant = call(etcd_, "/v3/lease/grant", json{{"TTL", std::to_string(kLockTtlSeconds)}});
  const json g = json::parse(grant.body, nullptr, false);
  if (!grant.ok || !g.is_object() || !g.contains("ID")) {
    error = "etcd lease: " + (grant.ok ? grant.body : grant.error);
    return false;
  }
  const std::string lease = g["ID"].is_string() ? g["ID"].get<std::string>() : g["ID"].dump();
  const std::string lock = prefix_ + "/lock";
  const json txn{
      {"compare", json::array({{{"key", b64(lock)}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}}})},
      {"success", json::array({{{"request_put", {{"key", b64(lock)}, {"value", b64(instance_)}, {"lease", lease}}}}})},
      {"failure", json::array({{{"request_range", {{"key", b64(lock)}}}}})}};
  kv::CallResult r = call(etcd_, "/v3/kv/txn", txn);
  const json t = json::parse(r.body, nullptr, false);
  if (r.ok && t.is_object() && t.value("succeeded", false)) {
    lease_ = lease;
    return true;
  }
  call(etcd_, "/v3/lease/revoke", json{{"ID", lease}});
  if (!r.ok || !t.is_object()) {
    error = "etcd lock: " + (r.ok ? r.body : r.error);
    return false;
  }
  holder = "another instance";
  try {
    const auto& kvs = t["responses"][0]["response_range"]["kvs"];
    if (!kvs.empty()) holder = wire::base64_decode(kvs[0]["value"].get<std::string>()).value_or(holder);
  } catch (const std::exception&) {
  }
  return false;
}

void FleetStore::unlock() {
  if (lease_.empty()) return;
  call(etcd_, "/v3/lease/revoke", json{{"ID", lease_}});
  lease_.clear();
}

bool FleetStore::save(const ResolverState& state, std::string& error) {
  // The entry as a storage file would hold it: write one, take the resolver's part.
  const json entry = json::parse(storage_entry_json(state));
  kv::CallResult r = call(etcd_, "/v3/kv/put", json{{"key", b64(prefix_ + "/state")}, {"value", b64(entry.dump())}});
  if (!r.ok) error = "etcd put " + prefix_ + "/state: " + r.error;
  return r.ok;
}

bool FleetStore::post_challenge(const std::string& type, const std::string& id, const std::string& key_authorization) {
  json put{{"key", b64(prefix_ + "/challenge/" + type + "/" + id)}, {"value", b64(key_authorization)}};
  if (!lease_.empty()) put["lease"] = lease_;
  kv::CallResult r = call(etcd_, "/v3/kv/put", put);
  if (!r.ok) spdlog::error("ACME {}: posting the challenge to etcd: {}", resolver_, r.error);
  return r.ok;
}

void FleetStore::withdraw_challenge(const std::string& type, const std::string& id) {
  call(etcd_, "/v3/kv/deleterange", json{{"key", b64(prefix_ + "/challenge/" + type + "/" + id)}});
}

}  // namespace snigate::acme
