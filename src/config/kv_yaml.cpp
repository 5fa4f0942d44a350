// kv_to_yaml and yaml_to_kv: see kv_yaml.hpp.
#include "config/kv_yaml.hpp"

#include "config/yaml_walk.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <memory>

namespace snigate::config {

namespace {

using walk::iequal;

struct KvNode {
  std::string key;  // the full key of this node
  const std::string* value = nullptr;
  std::map<std::string, std::unique_ptr<KvNode>> children;
};

bool is_index(std::string_view s) {
  return !s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int index_of(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

void insert(KvNode& root, const std::string& key, std::size_t from, const std::string& value) {
  KvNode* node = &root;
  std::size_t pos = from;
  while (pos <= key.size()) {
    std::size_t slash = key.find('/', pos);
    if (slash == std::string::npos) slash = key.size();
    if (slash > pos) {
      auto& child = node->children[key.substr(pos, slash - pos)];
      if (!child) {
        child = std::make_unique<KvNode>();
        child->key = key.substr(0, slash);
      }
      node = child.get();
    }
    pos = slash + 1;
  }
  if (node != &root) node->value = &value;
}

// The length of the UTF-8 character at s[i], with its code point; 0 when the
// bytes there are not one (a stray or cut-off byte, an overlong form, a
// surrogate).
std::size_t utf8_char(std::string_view s, std::size_t i, char32_t& cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  const std::size_t len = c >= 0xf5 ? 0 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  cp = c & (0x7f >> len);
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  const char32_t least = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
  if (cp < least || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

// Characters a double-quoted scalar cannot hold as they are: C1 controls and
// the non-characters U+FFFE and U+FFFF, which the YAML reader refuses, and
// NEL, LS and PS, which YAML 1.1 reads as line breaks (folded into a space,
// and the next key taken for a line of its own).
bool needs_escape(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || cp == 0xfffe || cp == 0xffff;
}

// A YAML double-quoted scalar: every byte the YAML reader could take for
// syntax, drop or refuse is escaped. A byte that is not UTF-8 (etcd keys and
// values are any bytes) becomes \xNN, which reads back as U+00NN: the
// document still loads, and the loader names the key.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    const auto c = static_cast<unsigned char>(ch);
    char32_t cp = 0;
    if (c == '"' || c == '\\') out += {'\\', ch};
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else if (c < 0x80) out += ch;
    else if (const std::size_t len = utf8_char(s, i, cp); len == 0) out += fmt::format("\\x{:02x}", c);
    else {
      if (needs_escape(cp)) out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(cp));
      else out.append(s.substr(i, len));
      i += len - 1;
    }
  }
  return out + '"';
}

struct Writer {
  KvDocument doc;

  void line(int indent, const std::string& text, const std::string& key) {
    doc.yaml.append(static_cast<std::size_t>(indent), ' ').append(text).push_back('\n');
    doc.line_keys.push_back(key);
  }

  static bool is_list(const KvNode& n) {
    return !n.children.empty() &&
           std::all_of(n.children.begin(), n.children.end(), [](const auto& c) { return is_index(c.first); });
  }

  std::size_t root_len = 0;  // of "traefik/"

  // tcp/routers/<r>/tls = true: an empty section, written as one so that the
  // document also reads as a file (kv get), where tls: true is not a map.
  bool router_tls_on(const KvNode& n) const {
    if (!n.value || !iequal(*n.value, "true")) return false;
    std::string_view k = std::string_view(n.key).substr(root_len);
    const auto take = [&k] {
      const auto slash = k.find('/');
      const std::string_view seg = k.substr(0, slash);
      k = slash == std::string_view::npos ? std::string_view() : k.substr(slash + 1);
      return seg;
    };
    return iequal(take(), "tcp") && iequal(take(), "routers") && !take().empty() && iequal(take(), "tls") && k.empty();
  }

  std::string leaf(const KvNode& n) {
    if (router_tls_on(n)) return " {}";
    return n.value && !n.value->empty() ? " " + quoted(*n.value) : "";
  }

  void body(const KvNode& n, int indent) {
    if (is_list(n)) list(n, indent);
    else map(n, indent);
  }

  void map(const KvNode& n, int indent) {
    for (const auto& [seg, child] : n.children) {
      const bool leafy = child->children.empty();
      line(indent, quoted(seg) + ":" + (leafy ? leaf(*child) : ""), child->key);
      if (!leafy) body(*child, indent + 2);
    }
  }

  void list(const KvNode& n, int indent) {
    std::vector<const KvNode*> items;
    for (const auto& [seg, child] : n.children) items.push_back(child.get());
    std::stable_sort(items.begin(), items.end(), [](const KvNode* a, const KvNode* b) {
      return index_of(a->key.substr(a->key.rfind('/') + 1)) < index_of(b->key.substr(b->key.rfind('/') + 1));
    });
    for (const KvNode* item : items) {
      const bool leafy = item->children.empty();
      line(indent, "-" + (leafy ? leaf(*item) : ""), item->key);
      if (!leafy) body(*item, indent + 2);
    }
  }
};

}  // namespace

KvDocument kv_to_yaml(const KvPairs& pairs, std::string_view root_key) {
  const std::string prefix = std::string(root_key) + "/";
  KvNode root;
  for (const auto& [key, value] : pairs)
    if (key.starts_with(prefix)) insert(root, key, prefix.size(), value);
  Writer w;
  w.root_len = prefix.size();
  if (root.children.empty()) w.line(0, "{}", "");
  else w.map(root, 0);
  return std::move(w.doc);
}

namespace {

void flatten(const yaml::Node& n, const std::string& key, int depth, KvPairs& out);

// An anchor used inside itself makes a cycle; no configuration key is this deep.
constexpr int kMaxDepth = 32;

// Keys in lower case, as Traefik's KV documentation writes them
// (loadbalancer, entrypoints), so that a key a user sets by hand later has the
// same spelling; the names of routers, services... (depth 2: tcp/routers/<name>)
// stay as written.
std::string segment(std::string_view name, int depth) {
  std::string out(name);
  if (depth == 2) return out;
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}


// depth: of the map's keys below the root (tcp is 0).
void flatten_map(const yaml::Node& n, const std::string& key, int depth, KvPairs& out) {
  if (n.size() == 0) {
    out[key] = "true";
    return;
  }
  // A merge key (<<: *a) brings in the keys the map does not set itself;
  // among several merged maps the first wins, as the file loader reads them.
  std::vector<std::string> own;
  std::vector<yaml::Node> merged;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string name(n.key(i).scalar());
    const yaml::Node v = n.value(i);
    if (name != "<<") {
      own.push_back(name);
      flatten(v, key + "/" + segment(name, depth), depth + 1, out);
    } else if (v.is_map()) {
      merged.push_back(v);
    } else {
      for (std::size_t j = 0; j < v.size(); ++j) merged.push_back(v[j]);
    }
  }
  for (const yaml::Node& m : merged) {
    for (std::size_t i = 0; i < m.size(); ++i) {
      const std::string name(m.key(i).scalar());
      if (name == "<<" || std::any_of(own.begin(), own.end(), [&](const std::string& o) { return iequal(o, name); }))
        continue;
      own.push_back(name);
      flatten(m.value(i), key + "/" + segment(name, depth), depth + 1, out);
    }
  }
}

void flatten(const yaml::Node& n, const std::string& key, int depth, KvPairs& out) {
  if (depth > kMaxDepth) return;
  switch (n.kind()) {
    case yaml::Kind::map: flatten_map(n, key, depth, out); break;
    case yaml::Kind::list:
      for (std::size_t i = 0; i < n.size(); ++i) flatten(n[i], fmt::format("{}/{}", key, i), depth + 1, out);
      break;
    case yaml::Kind::scalar: out[key] = std::string(n.scalar()); break;
    default: out[key] = ""; break;
  }
}

}  // namespace

KvPairs yaml_to_kv(const yaml::Node& doc, std::string_view root_key) {
  KvPairs out;
  for (std::size_t i = 0; i < doc.size(); ++i)
    if (const std::string_view name = doc.key(i).scalar(); iequal(name, "tcp") || iequal(name, "tls"))
      flatten(doc.value(i), fmt::format("{}/{}", root_key, segment(name, 0)), 1, out);
  return out;
}

}  // namespace snigate::config
