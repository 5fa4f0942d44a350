#pragma once
// Helpers for walking a YAML document with key paths and line numbers.
//
// Every finding (error or warning) names the file, the 1-based line of the key
// (or list element) it is about, and the dotted key path. Maps are walked with
// a table of known keys, one handler each. As in Traefik, a key matches its
// table entry in any case (a spelling other than the table's is reported once
// per file); a key not in the table is an error with a "did you mean" hint when
// a known key is close. YAML merge keys (<<: *anchor) are resolved while
// walking: yaml-cpp 0.7 leaves them to the reader.
#include "config/yaml_doc.hpp"

#include <cstddef>
#include <cstring>
#include <type_traits>
#include <span>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/fingerprint.hpp"

namespace snigate::config::walk {

// Where findings go and which file is being read.
class Ctx {
 public:
  Ctx(std::string file, std::vector<Error>& errors, std::vector<Error>& warnings);

  const std::string& file() const { return file_; }
  const std::string& dir() const { return dir_; }  // directory of file()
  Loc loc(const yaml::Node& n) const;              // line 0 when the node has no mark

  void error(Loc at, std::string path, std::string message);
  void warn(Loc at, std::string path, std::string message);
  // A warning that is given once per file and text: the same spelling of a
  // key used again is not repeated.
  void warn_once(Loc at, std::string path, std::string message);
  std::size_t error_count() const { return errors_->size(); }

  // A path as written: inline PEM ("-----BEGIN...") unchanged, an absolute path
  // unchanged, a relative path joined to dir().
  std::string resolve(const std::string& path) const;

  // For a document made from KV pairs (config/kv_yaml): line_keys[i] is the
  // key written on line i + 1. Locations then name the key ("etcd key
  // traefik/tcp/routers/r/rule"), a key's spelling is not reported (KV keys
  // are lower case by habit), and a section given as "true" is an empty map.
  void set_kv_keys(const std::vector<std::string>* line_keys) { line_keys_ = line_keys; }
  bool kv() const { return line_keys_ != nullptr; }

  // A context for another thread walking part of the same file: its own
  // error and warning lists, the latter starting as a copy of this one's.
  // join() then appends what it found after this context's own, and drops
  // a warn_once this context has given since, as one walk in order would.
  Ctx fork(std::vector<Error>& errors, std::vector<Error>& warnings) const;
  void join(const Ctx& part);

  // A reload's loan (config/fingerprint.hpp), set only when everything but
  // the routers is as it was: a router it holds with the same fingerprint is
  // not read again. `suffix` turns a name read here into the name it is
  // served by ("@etcd"; empty for files).
  void set_reuse(const Reuse* reuse, std::string suffix) {
    reuse_ = reuse;
    reuse_suffix_ = std::move(suffix);
  }
  // The fingerprint the loan holds for the router named `name` here, or 0.
  std::uint64_t lent_fingerprint(const std::string& name) const;

 private:
  const std::vector<std::string>* line_keys_ = nullptr;
  const Reuse* reuse_ = nullptr;
  std::string reuse_suffix_;
  std::string file_;
  FileName file_name_;  // file_, shared by every Loc this context makes
  std::string dir_;
  std::vector<Error>* errors_;
  std::vector<Error>* warnings_;
  std::size_t forked_warnings_ = 0;   // fork(): the warnings it started with
  std::vector<std::size_t> once_;     // fork(): indices of its warn_once warnings
};

// One value in the document: the key that named it (invalid for list
// elements), the value itself and its dotted path.
struct Item {
  yaml::Node key;
  yaml::Node value;
  std::string path;

  Loc loc(const Ctx& ctx) const;  // the key's line, or the value's for list elements
  Item child(const yaml::Node& k, const yaml::Node& v, std::string_view name) const;
  Item element(const yaml::Node& v, std::size_t index) const;
  bool is_null() const { return !value.defined() || value.is_null(); }
};

// The root of a document.
Item root(const yaml::Node& doc);

// "a map", "a list", "a string", "nothing": for type errors.
std::string describe(const yaml::Node& n);

// ---- typed getters: on a bad value they record an error and return false,
// leaving `out` unchanged. A null value (key with nothing after the colon)
// counts as empty / absent and is not an error unless said otherwise.
bool get_string(Ctx& ctx, const Item& it, std::string& out);
bool get_bool(Ctx& ctx, const Item& it, bool& out);
bool get_int(Ctx& ctx, const Item& it, int& out);
bool get_duration(Ctx& ctx, const Item& it, Duration& out, bool allow_negative = false);
bool get_string_list(Ctx& ctx, const Item& it, std::vector<std::string>& out);
// A file path or inline PEM: resolved against the file's directory; a path
// must name a readable file. Empty: error "must not be empty".
bool get_file(Ctx& ctx, const Item& it, std::string& out);
bool get_file_list(Ctx& ctx, const Item& it, std::vector<std::string>& out);

// ---- structure

// A callable passed down for the length of one call: a view of it, where
// std::function would copy it to the heap (once per key of every router).
template <class... Args>
class FnRef {
 public:
  template <class F>
    requires std::is_invocable_v<const F&, Args...> && (!std::is_same_v<std::remove_cvref_t<F>, FnRef>)
  FnRef(const F& f)  // NOLINT: implicit, as a lambda is passed
      : obj_(&f), call_([](const void* o, Args... args) { (*static_cast<const F*>(o))(args...); }) {}
  void operator()(Args... args) const { call_(obj_, args...); }

 private:
  const void* obj_;
  void (*call_)(const void*, Args...);
};

// A key handler: called with the key's item. The lambda is kept inside, not
// on the heap: the captures must be references or views (what a walk needs).
class Handler {
 public:
  template <class F>
    requires std::is_invocable_v<const F&, const Item&> && (!std::is_same_v<std::remove_cvref_t<F>, Handler>)
  Handler(F f)  // NOLINT: implicit, as a lambda is given in a key table
      : call_([](const void* o, const Item& it) { (*static_cast<const F*>(o))(it); }) {
    static_assert(std::is_trivially_copyable_v<F> && sizeof(F) <= kSize && alignof(F) <= alignof(std::max_align_t),
                  "a key handler captures references and views only, at most 6 of them");
    std::memcpy(storage_, &f, sizeof(F));
  }
  void operator()(const Item& it) const { call_(storage_, it); }

 private:
  static constexpr std::size_t kSize = 48;
  alignas(std::max_align_t) unsigned char storage_[kSize];
  void (*call_)(const void*, const Item&);
};
struct Key {
  std::string_view name;
  Handler handle;
};

// One key and its value in a map, merge keys resolved.
struct Entry {
  yaml::Node key;
  yaml::Node value;
};

// The entries of a map in document order, then those brought in by merge keys
// (<<: *a or <<: [*a, *b]) that the map does not set itself; among merged
// maps the first one listed wins. fold_case: "set itself" ignores case (for
// keys; user-chosen names compare exactly). A merged entry keeps its own node,
// so its line is where the anchor wrote it. Reports a merge key whose value is
// not a map or a list of maps.
std::vector<Entry> map_entries(Ctx& ctx, const Item& it, bool fold_case);

// Walks a map (null: empty map) with a table of known keys. Reports a value
// that is not a map, duplicate keys (two spellings of one key included), and
// unknown keys (with a did-you-mean). Returns false when the value is not a map.
bool walk_map(Ctx& ctx, const Item& it, std::span<const Key> keys);
inline bool walk_map(Ctx& ctx, const Item& it, std::initializer_list<Key> keys) {
  return walk_map(ctx, it, std::span<const Key>(keys.begin(), keys.size()));
}

// walk_map for the top of a file: an unknown key that starts with "x-" is
// ignored with a warning, as such keys hold anchors for the rest of the file.
bool walk_top_map(Ctx& ctx, const Item& it, std::initializer_list<Key> keys);

// True when the key is one of those "x-" keys.
bool is_extension_key(std::string_view name);

// ASCII comparison ignoring case.
bool iequal(std::string_view a, std::string_view b);

// Calls fn(name, item) for every entry of a map of user-named things
// (routers, services...). Null: no entries. Reports duplicates and non-maps.
bool for_each_entry(Ctx& ctx, const Item& it,
                    FnRef<const std::string&, const Item&> fn);

// The entries for_each_entry would call fn for, in the same order, having
// reported the same problems; nullopt where it returns false.
struct Named {
  std::string name;
  Item item;
};
std::optional<std::vector<Named>> named_entries(Ctx& ctx, const Item& it);

// Calls fn(item) for every element of a list. Null: no elements.
bool for_each_element(Ctx& ctx, const Item& it, FnRef<const Item&> fn);

// Table entries for Traefik keys snigate accepts but does not use (warning
// "ignored: <why>"), and for keys it refuses (error "<why>").
Key ignored(Ctx& ctx, std::string_view name, std::string_view why);
Key rejected(Ctx& ctx, std::string_view name, std::string_view why);

// The closest of `known` to `word`: equal ignoring case, or a near miss (at
// most two edits ignoring case, one for words of up to four letters); empty if
// none is that close.
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& known);

// Checks "host:port", ":port" (when host_optional) or "[v6]:port", port 1..65535.
// Returns an empty string when fine, else what is wrong.
std::string check_address(std::string_view address, bool host_optional);

}  // namespace snigate::config::walk
