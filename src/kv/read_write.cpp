// The one-shot requests: read a prefix, write and delete keys.
#include <algorithm>

#include "kv/etcd.hpp"
#include "kv/etcd_json.hpp"
#include "kv/session.hpp"

namespace snigate::kv {
namespace {

constexpr std::size_t kOpsPerTxn = 100;
constexpr std::chrono::milliseconds kWriteTimeout{10'000};

bool has_endpoints(const config::EtcdProvider& opts, std::string& error) {
  if (!opts.endpoints.empty()) return true;
  error = "no etcd endpoints given";
  return false;
}

bool run_txns(const config::EtcdProvider& opts, const std::vector<KvOp>& ops, std::string& error) {
  if (!has_endpoints(opts, error)) return false;
  Session s;
  s.opts = opts;
  for (std::size_t i = 0; i < ops.size(); i += kOpsPerTxn) {
    const std::vector<KvOp> batch(ops.begin() + static_cast<std::ptrdiff_t>(i),
                                  ops.begin() + static_cast<std::ptrdiff_t>(std::min(ops.size(), i + kOpsPerTxn)));
    const CallResult r = call_any(s, "/v3/kv/txn", txn_body(batch), kWriteTimeout);
    if (!r.ok) {
      error = r.error;
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<RangeResult> read_prefix(const config::EtcdProvider& opts, const std::string& prefix,
                                       std::chrono::milliseconds timeout, std::string& error) {
  if (!has_endpoints(opts, error)) return std::nullopt;
  Session s;
  s.opts = opts;
  const CallResult r = call_any(s, "/v3/kv/range", range_body(prefix), timeout);
  RangeResult out;
  if (!r.ok) error = r.error;
  else if (!decode_range(r.body, out, error)) error = s.endpoint_name() + ": " + error;
  else return out;
  return std::nullopt;
}

bool write_changes(const config::EtcdProvider& opts, const config::KvPairs& pairs,
                   const std::vector<std::string>& remove, std::string& error) {
  std::vector<KvOp> ops;
  for (const auto& [key, value] : pairs) ops.push_back({KvOp::Kind::put, key, value});
  for (const std::string& key : remove) ops.push_back({KvOp::Kind::remove, key, {}});
  return run_txns(opts, ops, error);
}

bool put_pairs(const config::EtcdProvider& opts, const config::KvPairs& pairs, std::string& error) {
  return write_changes(opts, pairs, {}, error);
}

bool delete_prefix(const config::EtcdProvider& opts, const std::string& prefix, std::string& error) {
  return run_txns(opts, {{KvOp::Kind::remove_prefix, prefix, {}}}, error);
}

}  // namespace snigate::kv
