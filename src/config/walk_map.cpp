// Map and list walking, unknown keys, did-you-mean, address checks.
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>
#include <unordered_map>

#include "config/yaml_walk.hpp"

namespace snigate::config::walk {

namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

// Levenshtein distance where swapping two neighbours counts as one edit
// (optimal string alignment): "wbe" is one edit from "web".
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> before(b.size() + 1), prev(b.size() + 1), row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) row[j] = std::min(row[j], before[j - 2] + 1);
    }
    before.swap(prev);
    prev.swap(row);
  }
  return prev[b.size()];
}

// A KV store writes an empty section as a key whose value is "true"
// (traefik/tcp/routers/r/tls = true), as Traefik's KV providers read it.
bool kv_section(const Ctx& ctx, const Item& it) {
  return ctx.kv() && it.value.is_scalar() && iequal(it.value.scalar(), "true");
}

bool expect_map(Ctx& ctx, const Item& it) {
  if (it.is_null() || it.value.is_map() || kv_section(ctx, it)) return true;
  ctx.error(it.loc(ctx), it.path, fmt::format("expected a map, found {}", describe(it.value)));
  return false;
}

bool is_merge_key(const yaml::Node& k) { return k.is_scalar() && k.scalar() == "<<"; }

std::string name_of(const yaml::Node& k) { return k.is_scalar() ? std::string(k.scalar()) : std::string("?"); }

// Aliases are shared nodes, so merge keys could name the same maps over and
// over (or an anchor could merge itself): a map brings in at most this many.
constexpr int kMaxMergedMaps = 256;

void collect_entries(Ctx& ctx, const Item& it, const yaml::Node& map, bool fold_case, int& maps_left,
                     std::vector<Entry>& out) {
  auto norm = [&](const yaml::Node& k) { return fold_case ? lowered(name_of(k)) : name_of(k); };
  const std::size_t own_from = out.size();
  std::vector<yaml::Node> merged;  // maps named by merge keys, in order
  for (std::size_t i = 0; i < map.size(); ++i) {
    const yaml::Node k = map.key(i);
    const yaml::Node v = map.value(i);
    if (!is_merge_key(k)) {
      // Within one map every entry is kept, so duplicates can be reported; an
      // entry only hides those merged in from elsewhere.
      out.push_back(Entry{k, v});
      continue;
    }
    bool good = v.is_map();
    if (v.is_list()) {
      good = v.size() > 0;
      for (std::size_t j = 0; j < v.size(); ++j) good = good && v[j].is_map();
    }
    if (!good) {
      ctx.error(ctx.loc(k), it.path.empty() ? "<<" : it.path + ".<<",
                fmt::format("a merge key takes a map (<<: *anchor) or a list of maps (<<: [*a, *b]), found {}",
                            describe(v)));
      continue;
    }
    if (v.is_map()) merged.push_back(v);
    else
      for (std::size_t j = 0; j < v.size(); ++j) merged.push_back(v[j]);
  }
  if (merged.empty()) return;
  std::set<std::string> names;  // set here, or by an earlier merged map
  for (std::size_t i = own_from; i < out.size(); ++i) names.insert(norm(out[i].key));
  for (const yaml::Node& m : merged) {
    if (maps_left <= 0) return;  // reported once, by the call that ran out
    if (--maps_left == 0) {
      ctx.error(it.loc(ctx), it.path,
                fmt::format("merge keys bring in more than {} maps here (an anchor that merges itself?)",
                            kMaxMergedMaps - 1));
      return;
    }
    std::vector<Entry> sub;
    collect_entries(ctx, it, m, fold_case, maps_left, sub);
    for (Entry& e : sub) {
      if (!names.insert(norm(e.key)).second) continue;  // set here, or by an earlier merged map
      out.push_back(std::move(e));
    }
  }
}

}  // namespace

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool is_extension_key(std::string_view name) { return name.size() > 2 && iequal(name.substr(0, 2), "x-"); }

std::vector<Entry> map_entries(Ctx& ctx, const Item& it, bool fold_case) {
  std::vector<Entry> out;
  if (!it.value.is_map()) return out;
  out.reserve(it.value.size());
  int maps_left = kMaxMergedMaps;
  collect_entries(ctx, it, it.value, fold_case, maps_left, out);
  return out;
}

namespace {

std::string without_digits(std::string s) {
  std::erase_if(s, [](char c) { return c >= '0' && c <= '9'; });
  return s;
}

// Names that differ only in their digits (site1, site3) or by a suffix after
// a separator or digit (pg, pg-old, pg2) are different objects on purpose:
// following such a hint would send traffic to the wrong backend.
bool a_sibling(const std::string& a, const std::string& b) {
  if (without_digits(a) == without_digits(b)) return true;
  const std::string& shorter = a.size() < b.size() ? a : b;
  const std::string& longer = a.size() < b.size() ? b : a;
  if (shorter.empty() || longer.compare(0, shorter.size(), shorter) != 0) return false;
  const char next = longer[shorter.size()];
  return next == '-' || next == '_' || next == '.' || next == '@' || (next >= '0' && next <= '9');
}

}  // namespace

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& known) {
  std::string_view best;
  std::size_t best_d = 3;
  std::string w = lowered(word);
  for (std::string_view k : known) {
    if (iequal(word, k)) return std::string(k);
    if (a_sibling(w, lowered(k))) continue;
    std::size_t d = edit_distance(w, lowered(k));
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  // Two edits turn any short word into many others: ask for a longer word.
  if (best_d == 2 && word.size() <= 4) return {};
  return std::string(best);
}

namespace {

// The key a name was first given by in a map: its node has the spelling and the line.
struct Seen {
  std::string_view canonical;  // the table's name, or as written for unknown keys and user names
  yaml::Node key;
};

void report_duplicate(Ctx& ctx, const Item& it, const yaml::Node& key, std::string_view canonical,
                      const yaml::Node& first_key) {
  const Loc at = ctx.loc(first_key);
  const std::string where = at.line > 0 ? fmt::format("line {}", at.line) : at.file.str();
  const std::string spelling = name_of(key);
  const std::string first = name_of(first_key);
  std::string msg = first == spelling
                        ? fmt::format("duplicate key \"{}\" (first at {})", spelling, where)
                        : fmt::format("duplicate key \"{}\": the same key as \"{}\" at {} (key names "
                                      "ignore case)",
                                      spelling, first, where);
  ctx.error(ctx.loc(key), it.child(key, yaml::Node(), canonical).path, std::move(msg));
}

void report_unknown(Ctx& ctx, const Item& it, const yaml::Node& k, const std::string& name,
                    std::span<const Key> keys) {
  std::vector<std::string_view> names;
  for (const Key& key : keys) names.push_back(key.name);
  std::string msg = fmt::format("unknown key \"{}\"", name);
  if (std::string hint = did_you_mean(name, names); !hint.empty())
    msg += fmt::format(" (did you mean \"{}\"?)", hint);
  // The path names the unknown key itself, so the message reads like any other.
  ctx.error(ctx.loc(k), it.path.empty() ? name : it.path + "." + name, std::move(msg));
}

const Key* find_key(std::span<const Key> keys, const std::string& name) {
  for (const Key& key : keys)
    if (key.name == name) return &key;
  for (const Key& key : keys)
    if (iequal(key.name, name)) return &key;
  return nullptr;
}

bool walk_map_impl(Ctx& ctx, const Item& it, std::span<const Key> keys, bool top_level) {
  if (!expect_map(ctx, it)) return false;
  if (it.is_null() || kv_section(ctx, it)) return true;
  const std::vector<Entry> entries = map_entries(ctx, it, true);
  std::vector<Seen> seen;  // a map has a handful of keys: a scan beats a tree
  seen.reserve(entries.size());
  for (const Entry& e : entries) {
    const yaml::Node& k = e.key;
    std::string name = name_of(k);
    const Key* found = find_key(keys, name);
    std::string canonical = found ? std::string(found->name) : name;
    const auto first = std::ranges::find_if(seen, [&](const Seen& s) { return s.canonical == canonical; });
    if (first != seen.end()) {
      report_duplicate(ctx, it, k, canonical, first->key);
      continue;
    }
    seen.push_back(Seen{found ? found->name : k.is_scalar() ? std::string_view(k.scalar()) : "?", k});
    if (found) {
      Item child = it.child(k, e.value, canonical);
      if (name != canonical && !ctx.kv())
        ctx.warn_once(ctx.loc(k), child.path,
                      fmt::format("\"{}\" read as \"{}\" (key names ignore case, as in Traefik; this "
                                  "spelling is reported once per file)",
                                  name, canonical));
      found->handle(child);
    } else if (top_level && is_extension_key(name)) {
      ctx.warn(ctx.loc(k), name,
               "ignored: a top-level key starting with \"x-\" is taken to hold YAML anchors for the rest "
               "of the file");
    } else {
      report_unknown(ctx, it, k, name, keys);
    }
  }
  return true;
}

}  // namespace

bool walk_map(Ctx& ctx, const Item& it, std::span<const Key> keys) { return walk_map_impl(ctx, it, keys, false); }

bool walk_top_map(Ctx& ctx, const Item& it, std::initializer_list<Key> keys) {
  return walk_map_impl(ctx, it, std::span<const Key>(keys.begin(), keys.size()), true);
}

std::optional<std::vector<Named>> named_entries(Ctx& ctx, const Item& it) {
  if (!expect_map(ctx, it)) return std::nullopt;
  std::vector<Named> out;
  if (it.is_null() || kv_section(ctx, it)) return out;
  const std::vector<Entry> entries = map_entries(ctx, it, false);
  std::unordered_map<std::string_view, yaml::Node> seen;  // names point into the document
  seen.reserve(entries.size());
  out.reserve(entries.size());
  for (const Entry& e : entries) {
    const yaml::Node& k = e.key;
    if (!k.is_scalar() || k.scalar().empty()) {
      ctx.error(ctx.loc(k), it.path, "a name must be a non-empty string");
      continue;
    }
    // A user-chosen name is taken as written: "Web" and "web" are two names.
    auto [pos, fresh] = seen.emplace(k.scalar(), k);
    if (!fresh) {
      report_duplicate(ctx, it, k, k.scalar(), pos->second);
      continue;
    }
    std::string name(k.scalar());
    Item child = it.child(k, e.value, name);
    out.push_back(Named{std::move(name), std::move(child)});
  }
  return out;
}

bool for_each_entry(Ctx& ctx, const Item& it, FnRef<const std::string&, const Item&> fn) {
  const std::optional<std::vector<Named>> entries = named_entries(ctx, it);
  if (!entries) return false;
  for (const Named& e : *entries) fn(e.name, e.item);
  return true;
}

bool for_each_element(Ctx& ctx, const Item& it, FnRef<const Item&> fn) {
  if (it.is_null()) return true;
  if (!it.value.is_list()) {
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
