#include "config/yaml_doc.hpp"

#include <fmt/core.h>
#include <yaml.h>

#include <algorithm>
#include <limits>
#include <string_view>
#include <unordered_map>

namespace snigate::config::yaml {

namespace {


// YAML 1.2's core schema: these plain scalars are null.
bool plain_null(std::string_view s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

std::string_view text_of(const yaml_char_t* s) {
  return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view();
}

SyntaxError syntax_error(const yaml_parser_t& p, std::string_view text) {
  SyntaxError e;
  e.line = static_cast<int>(p.problem_mark.line) + 1;
  e.column = static_cast<int>(p.problem_mark.column) + 1;
  if (p.error == YAML_READER_ERROR) {  // bytes that are not UTF-8: libyaml gives only the offset
    const std::string_view before = text.substr(0, std::min(p.problem_offset, text.size()));
    e.line = static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1;
    e.column = static_cast<int>(before.size() - (before.rfind('\n') + 1)) + 1;
  }
  e.message = p.problem ? p.problem : "unreadable input";
  if (p.error == YAML_READER_ERROR) e.message += fmt::format(" (byte offset {})", p.problem_offset);
  else if (p.context) e.message += fmt::format(" ({} at line {})", p.context, p.context_mark.line + 1);
  return e;
}

// Owns the parser so that every exit frees it.
struct Parser {
  yaml_parser_t p{};
  explicit Parser(std::string_view text) {
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  ~Parser() { yaml_parser_delete(&p); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
};

struct Event {
  yaml_event_t e{};
  bool held = false;
  ~Event() {
    if (held) yaml_event_delete(&e);
  }
};

}  // namespace

// Turns libyaml's events into the Document's arrays: a collection's children
// are gathered while it is open and stored together when it closes.
class Builder {
 public:
  explicit Builder(Document& doc, std::size_t text_size) : doc_(doc) {
    // About one node per 8 bytes of a typical configuration: reserving saves
    // the copies of growing.
    doc_.nodes_.reserve(text_size / 8);
    doc_.kids_.reserve(text_size / 8);
    doc_.scalars_.reserve(text_size);  // scalars are at most about the text itself
  }

  // Nullopt on success.
  std::optional<SyntaxError> run(std::string_view text) {
    Parser parser(text);
    while (true) {
      Event ev;
      if (!yaml_parser_parse(&parser.p, &ev.e)) return syntax_error(parser.p, text);
      ev.held = true;
      const yaml_event_t& e = ev.e;
      const int line = static_cast<int>(e.start_mark.line);
      switch (e.type) {
        case YAML_SCALAR_EVENT: scalar(e, line); break;
        case YAML_SEQUENCE_START_EVENT:
          open(Kind::list, e.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE, line,
               text_of(e.data.sequence_start.anchor));
          break;
        case YAML_MAPPING_START_EVENT:
          open(Kind::map, e.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE, line,
               text_of(e.data.mapping_start.anchor));
          break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: close(); break;
        case YAML_ALIAS_EVENT:
          if (auto err = alias(text_of(e.data.alias.anchor), line)) return err;
          break;
        case YAML_DOCUMENT_END_EVENT:
        case YAML_STREAM_END_EVENT: return finish();
        default: break;
      }
    }
  }

 private:
  using Entry = Document::Entry;

  std::uint32_t add(Entry entry, std::string_view anchor) {
    const auto index = static_cast<std::uint32_t>(doc_.nodes_.size());
    doc_.nodes_.push_back(entry);
    pending_.push_back(index);
    if (!anchor.empty()) anchors_[std::string(anchor)] = index;
    return index;
  }

  void scalar(const yaml_event_t& e, int line) {
    const auto& s = e.data.scalar;
    const std::string_view value(reinterpret_cast<const char*>(s.value), s.length);
    const bool null = s.plain_implicit && s.style == YAML_PLAIN_SCALAR_STYLE && plain_null(value);
    Entry entry{null ? Kind::null : Kind::scalar, false, line, 0, 0};
    if (!null) {
      entry.first = static_cast<std::uint32_t>(doc_.scalars_.size());
      entry.count = static_cast<std::uint32_t>(value.size());
      doc_.scalars_.append(value);
    }
    add(entry, text_of(s.anchor));
  }

  // The anchor names the collection from its start, so an alias inside it
  // makes a cycle, as yaml-cpp allowed; the walker bounds what it follows.
  void open(Kind kind, bool flow, int line, std::string_view anchor) {
    const std::uint32_t index = add(Entry{kind, flow, line, 0, 0}, anchor);
    open_.push_back(Open{index, pending_.size()});
  }

  // The collection's children are the tail of pending_ from where it opened.
  void close() {
    const Open done = open_.back();
    open_.pop_back();
    Entry& entry = doc_.nodes_[done.index];
    entry.first = static_cast<std::uint32_t>(doc_.kids_.size());
    entry.count = static_cast<std::uint32_t>(pending_.size() - done.kids_from);
    const auto from = pending_.begin() + static_cast<std::ptrdiff_t>(done.kids_from);
    doc_.kids_.insert(doc_.kids_.end(), from, pending_.end());
    pending_.erase(from, pending_.end());
  }

  std::optional<SyntaxError> alias(std::string_view name, int line) {
    const auto it = anchors_.find(std::string(name));
    if (it == anchors_.end())
      return SyntaxError{line + 1, 0, fmt::format("alias *{} names no anchor defined before it", name)};
    pending_.push_back(it->second);
    return std::nullopt;
  }

  std::optional<SyntaxError> finish() {
    if (doc_.nodes_.empty()) doc_.nodes_.push_back(Entry{Kind::null, false, 0, 0, 0});
    return std::nullopt;
  }

  struct Open {
    std::uint32_t index;
    std::size_t kids_from;  // in pending_
  };
  Document& doc_;
  std::vector<Open> open_;
  std::vector<std::uint32_t> pending_;  // children of the open collections, innermost last
  std::unordered_map<std::string, std::uint32_t> anchors_;
};

std::variant<std::shared_ptr<const Document>, SyntaxError> parse(std::string_view text) {
  // Offsets into the scalars' text are 32-bit.
  if (text.size() >= std::numeric_limits<std::uint32_t>::max())
    return SyntaxError{1, 1, "the text is 4 GiB or more, larger than a configuration can be"};
  auto doc = std::make_shared<Document>();
  if (auto err = Builder(*doc, text.size()).run(text)) return *err;
  return doc;
}

Kind Node::kind() const { return doc_ ? doc_->nodes_[index_].kind : Kind::undefined; }

bool Node::is_flow() const { return doc_ && doc_->nodes_[index_].flow; }

std::string_view Node::scalar() const {
  if (!is_scalar()) return {};
  const auto& e = doc_->nodes_[index_];
  return std::string_view(doc_->scalars_).substr(e.first, e.count);
}

int Node::line() const { return doc_ ? doc_->nodes_[index_].line : -1; }

std::size_t Node::size() const {
  if (!doc_) return 0;
  const auto& e = doc_->nodes_[index_];
  if (e.kind == Kind::list) return e.count;
  if (e.kind == Kind::map) return e.count / 2;
  return 0;
}

Node Node::operator[](std::size_t i) const {
  if (!is_list() || i >= size()) return {};
  return Node(doc_, doc_->kids_[doc_->nodes_[index_].first + i]);
}

Node Node::key(std::size_t i) const {
  if (!is_map() || i >= size()) return {};
  return Node(doc_, doc_->kids_[doc_->nodes_[index_].first + 2 * i]);
}

Node Node::value(std::size_t i) const {
  if (!is_map() || i >= size()) return {};
  return Node(doc_, doc_->kids_[doc_->nodes_[index_].first + 2 * i + 1]);
}

}  // namespace snigate::config::yaml
