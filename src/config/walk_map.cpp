// Map and list walking, unknown keys, did-you-mean, address checks.
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "config/yaml_walk.hpp"

namespace snigate::config::walk {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
      diag = up;
    }
  }
  return row[b.size()];
}

// Reports a duplicate key; returns true when `name` was seen before.
bool duplicate(Ctx& ctx, const Item& it, std::map<std::string, int>& seen, const YAML::Node& key,
               const std::string& name) {
  int line = ctx.loc(key).line;
  auto [pos, fresh] = seen.emplace(name, line);
  if (fresh) return false;
  ctx.error(ctx.loc(key), it.child(key, YAML::Node(), name).path,
            fmt::format("duplicate key \"{}\" (first at line {})", name, pos->second));
  return true;
}

bool expect_map(Ctx& ctx, const Item& it) {
  if (it.is_null() || it.value.IsMap()) return true;
  ctx.error(it.loc(ctx), it.path, fmt::format("expected a map, found {}", describe(it.value)));
  return false;
}

}  // namespace

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& known) {
  std::string_view best;
  std::size_t best_d = 3;
  for (std::string_view k : known) {
    if (iequal(word, k)) return std::string(k);
    std::size_t d = edit_distance(word, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  // Two edits turn any two-letter word into any other: ask for a longer word.
  if (best_d == 2 && word.size() <= 3) return {};
  return std::string(best);
}

bool walk_map(Ctx& ctx, const Item& it, std::span<const Key> keys) {
  if (!expect_map(ctx, it)) return false;
  if (it.is_null()) return true;
  std::map<std::string, int> seen;
  for (const auto& kv : it.value) {
    const YAML::Node& k = kv.first;
    std::string name = k.IsScalar() ? k.Scalar() : std::string("?");
    if (duplicate(ctx, it, seen, k, name)) continue;
    auto found = std::find_if(keys.begin(), keys.end(), [&](const Key& key) { return key.name == name; });
    if (found != keys.end()) {
      found->handle(it.child(k, kv.second, name));
      continue;
    }
    std::vector<std::string_view> names;
    for (const Key& key : keys) names.push_back(key.name);
    std::string msg = fmt::format("unknown key \"{}\"", name);
    if (std::string hint = did_you_mean(name, names); !hint.empty())
      msg += fmt::format(" (did you mean \"{}\"?)", hint);
    // The path names the unknown key itself, so the message reads like any other.
    ctx.error(ctx.loc(k), it.path.empty() ? name : it.path + "." + name, std::move(msg));
  }
  return true;
}

bool for_each_entry(Ctx& ctx, const Item& it,
                    const std::function<void(const std::string&, const Item&)>& fn) {
  if (!expect_map(ctx, it)) return false;
  if (it.is_null()) return true;
  std::map<std::string, int> seen;
  for (const auto& kv : it.value) {
    const YAML::Node& k = kv.first;
    if (!k.IsScalar() || k.Scalar().empty()) {
      ctx.error(ctx.loc(k), it.path, "a name must be a non-empty string");
      continue;
    }
    if (duplicate(ctx, it, seen, k, k.Scalar())) continue;
    fn(k.Scalar(), it.child(k, kv.second, k.Scalar()));
  }
  return true;
}

bool for_each_element(Ctx& ctx, const Item& it, const std::function<void(const Item&)>& fn) {
  if (it.is_null()) return true;
  if (!it.value.IsSequence()) {
    ctx.error(it.loc(ctx), it.path, fmt::format("expected a list, found {}", describe(it.value)));
    return false;
  }
  for (std::size_t i = 0; i < it.value.size(); ++i) fn(it.element(it.value[i], i));
  return true;
}

Key ignored(Ctx& ctx, std::string_view name, std::string_view why) {
  return Key{name, [&ctx, why](const Item& it) { ctx.warn(it.loc(ctx), it.path, fmt::format("ignored: {}", why)); }};
}

Key rejected(Ctx& ctx, std::string_view name, std::string_view why) {
  return Key{name, [&ctx, why](const Item& it) { ctx.error(it.loc(ctx), it.path, std::string(why)); }};
}

std::string check_address(std::string_view address, bool host_optional) {
  if (address.empty()) return "must not be empty";
  std::string_view host;
  std::string_view port;
  if (address.front() == '[') {
    auto close = address.find(']');
    if (close == std::string_view::npos) return fmt::format("\"{}\": missing \"]\" after the IPv6 address", address);
    host = address.substr(1, close - 1);
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.%") != std::string_view::npos ||
        host.find(':') == std::string_view::npos)
      return fmt::format("\"{}\": \"{}\" is not an IPv6 address", address, host);
    if (close + 1 >= address.size() || address[close + 1] != ':')
      return fmt::format("\"{}\" is not of the form [v6]:port", address);
    port = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string_view::npos)
      return fmt::format("\"{}\" has no port: use host:port{}", address, host_optional ? " or :port" : "");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return fmt::format("\"{}\": write an IPv6 address in brackets, [v6]:port", address);
    if (host.find_first_of(" \t/[]") != std::string_view::npos)
      return fmt::format("\"{}\": \"{}\" is not a host name or address", address, host);
    if (host.empty() && !host_optional) return fmt::format("\"{}\" has no host: use host:port", address);
  }
  int p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
    return fmt::format("\"{}\": port \"{}\" is not a number from 1 to 65535", address, port);
  return {};
}

}  // namespace snigate::config::walk
