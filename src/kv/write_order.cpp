#include "kv/write_order.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace snigate::kv {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The key's first `n` segments below root ("tcp/routers/db" for n = 3).
std::string_view head(std::string_view rel, int n) {
  std::size_t pos = 0;
  for (int i = 0; i < n; ++i) {
    pos = rel.find('/', pos);
    if (pos == std::string_view::npos) return rel;
    if (i + 1 < n) ++pos;
  }
  return rel.substr(0, pos);
}

// Lower ranks are written first: what routers refer to before routers.
int rank_of(std::string_view rel) {
  std::string section(head(rel, 2));
  std::transform(section.begin(), section.end(), section.begin(), lower);
  if (section.starts_with("tls/")) return 0;
  if (section == "tcp/serverstransports") return 1;
  if (section == "tcp/middlewares") return 2;
  if (section == "tcp/services") return 3;
  if (section == "tcp/routers") return 5;
  return 4;
}

using Groups = std::map<std::pair<int, std::string>, std::vector<KvOp>>;  // (rank, entity) -> its ops

void pack(const Groups& groups, bool reverse, std::size_t max_ops, std::vector<std::vector<KvOp>>& out) {
  // An entity starts a new transaction when it would not fit whole in the
  // current one; only one larger than a transaction is split.
  auto add = [&](const std::vector<KvOp>& ops) {
    if (out.empty() || (!out.back().empty() && out.back().size() + ops.size() > max_ops)) out.emplace_back();
    for (const KvOp& op : ops) {
      if (out.back().size() >= max_ops) out.emplace_back();
      out.back().push_back(op);
    }
  };
  if (reverse)
    for (auto it = groups.rbegin(); it != groups.rend(); ++it) add(it->second);
  else
    for (const auto& [unused, ops] : groups) add(ops);
}

}  // namespace

std::vector<std::vector<KvOp>> write_batches(std::string_view root, const config::KvPairs& puts,
                                             const std::vector<std::string>& removes, std::size_t max_ops) {
  const std::size_t skip = root.size() + 1;  // "root/"
  auto rel = [&](const std::string& key) { return std::string_view(key).substr(std::min(skip, key.size())); };
  Groups put_groups, remove_groups;
  for (const auto& [key, value] : puts)
    put_groups[{rank_of(rel(key)), std::string(head(rel(key), 3))}].push_back({KvOp::Kind::put, key, value});
  for (const std::string& key : removes)
    remove_groups[{rank_of(rel(key)), std::string(head(rel(key), 3))}].push_back({KvOp::Kind::remove, key, {}});
  std::vector<std::vector<KvOp>> out;
  pack(put_groups, false, max_ops, out);
  pack(remove_groups, true, max_ops, out);
  return out;
}

}  // namespace snigate::kv
