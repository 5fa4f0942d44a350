#pragma once
// A YAML document as a compact read-only tree, parsed with libyaml: what the
// configuration walker reads. A node is an index into flat arrays, not an
// object of its own, so that a file of 100,000 routers parses in a fraction of
// a second and frees at once.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace snigate::config::yaml {

enum class Kind : std::uint8_t {
  undefined,  // no node: a key that is not there
  null,       // empty, `~` or `null` written without quotes
  scalar,
  list,
  map,
};

class Document;

// One node of a Document, or none (undefined). Copied freely; valid while its
// Document lives. Aliases are the node they name, so one node can be reached
// by several paths (and, through an anchor used inside itself, by a cycle).
class Node {
 public:
  Node() = default;
  Node(const Document* doc, std::uint32_t index) : doc_(doc), index_(index) {}

  Kind kind() const;
  bool defined() const { return kind() != Kind::undefined; }
  bool is_null() const { return kind() == Kind::null; }
  bool is_scalar() const { return kind() == Kind::scalar; }
  bool is_list() const { return kind() == Kind::list; }
  bool is_map() const { return kind() == Kind::map; }
  bool is_flow() const;  // written in flow style: `{...}` or `[...]`

  std::string_view scalar() const;  // the text of a scalar; empty for any other node
  int line() const;                   // 0-based line where the node starts; -1 when undefined

  std::size_t size() const;                 // list elements or map entries
  Node operator[](std::size_t i) const;     // list element i
  Node key(std::size_t i) const;            // map entry i, in document order (duplicates kept)
  Node value(std::size_t i) const;
  bool same(const Node& other) const { return doc_ == other.doc_ && index_ == other.index_; }

 private:
  const Document* doc_ = nullptr;
  std::uint32_t index_ = 0;
};

// Where libyaml gave up, and why.
struct SyntaxError {
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string message;
};

class Document {
 public:
  Node root() const { return nodes_.empty() ? Node() : Node(this, 0); }

 private:
  friend class Node;
  friend class Builder;
  struct Entry {
    Kind kind = Kind::undefined;
    bool flow = false;
    std::int32_t line = -1;
    std::uint32_t first = 0;  // scalar: offset in scalars_; list/map: first child in kids_
    std::uint32_t count = 0;  // scalar: bytes; list/map: children (a map's are key, value, key, value...)
  };
  std::vector<Entry> nodes_;
  std::vector<std::uint32_t> kids_;
  std::string scalars_;  // every scalar's text, one after another: one allocation, not one each
};

// A configuration file parsed; on a syntax error or an unreadable file,
// nullptr and an error naming the file and the likely line (yaml_hint). An
// empty file is a null document. (config/yaml_file.cpp)
std::shared_ptr<const Document> read_file(const std::string& path, std::vector<Error>& errors);
// The same for text read elsewhere; `path` names it in the error.
std::shared_ptr<const Document> parse_text(const std::string& text, const std::string& path,
                                           std::vector<Error>& errors);

// The first document of `text` (later ones are not read, as yaml-cpp's Load
// did). An empty text is a null document.
std::variant<std::shared_ptr<const Document>, SyntaxError> parse(std::string_view text);

}  // namespace snigate::config::yaml
