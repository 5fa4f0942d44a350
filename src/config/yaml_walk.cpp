// Typed getters with error reporting (see yaml_walk.hpp).
#include "config/yaml_walk.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>

namespace snigate::config::walk {

namespace fs = std::filesystem;

Ctx::Ctx(std::string file, std::vector<Error>& errors, std::vector<Error>& warnings)
    : file_(std::move(file)), file_name_(file_), errors_(&errors), warnings_(&warnings) {
  dir_ = fs::path(file_).parent_path().string();
}

Loc Ctx::loc(const yaml::Node& n) const {
  Loc l{file_name_, 0};
  if (n.defined() && n.line() >= 0) l.line = n.line() + 1;
  if (line_keys_ && l.line > 0) {
    const auto i = static_cast<std::size_t>(l.line - 1);
    l.file = i < line_keys_->size() ? fmt::format("{} key {}", file_, (*line_keys_)[i]) : file_;
    l.line = 0;
  }
  return l;
}

void Ctx::error(Loc at, std::string path, std::string message) {
  errors_->push_back(Error{std::move(at), std::move(path), std::move(message)});
}

void Ctx::warn(Loc at, std::string path, std::string message) {
  warnings_->push_back(Error{std::move(at), std::move(path), std::move(message)});
}

void Ctx::warn_once(Loc at, std::string path, std::string message) {
  // Scanning is fine: a file has few warnings. Other contexts over the same
  // file (the static file is read twice) share the list, so they count too.
  for (const Error& w : *warnings_)
    if (w.loc.file == at.file && w.message == message) return;
  once_.push_back(warnings_->size());
  warn(std::move(at), std::move(path), std::move(message));
}

std::uint64_t Ctx::lent_fingerprint(const std::string& name) const {
  if (!reuse_) return 0;
  const auto it = reuse_suffix_.empty() ? reuse_->routers.find(name) : reuse_->routers.find(name + reuse_suffix_);
  return it == reuse_->routers.end() ? 0 : it->second;
}

Ctx Ctx::fork(std::vector<Error>& errors, std::vector<Error>& warnings) const {
  Ctx part = *this;
  warnings = *warnings_;
  part.errors_ = &errors;
  part.warnings_ = &warnings;
  part.forked_warnings_ = warnings.size();
  part.once_.clear();
  return part;
}

void Ctx::join(const Ctx& part) {
  errors_->insert(errors_->end(), part.errors_->begin(), part.errors_->end());
  const std::vector<Error>& found = *part.warnings_;
  auto given_here = [&](const Error& w) {
    for (std::size_t i = part.forked_warnings_; i < warnings_->size(); ++i)
      if ((*warnings_)[i].loc.file == w.loc.file && (*warnings_)[i].message == w.message) return true;
    return false;
  };
  for (std::size_t i = part.forked_warnings_; i < found.size(); ++i) {
    const bool once = std::ranges::find(part.once_, i) != part.once_.end();
    if (once && given_here(found[i])) continue;
    if (once) once_.push_back(warnings_->size());
    warnings_->push_back(found[i]);
  }
}

std::string Ctx::resolve(const std::string& path) const {
  if (path.rfind("-----BEGIN", 0) == 0) return path;
  fs::path p(path);
  if (p.is_absolute() || dir_.empty()) return p.lexically_normal().string();
  return (fs::path(dir_) / p).lexically_normal().string();
}

Loc Item::loc(const Ctx& ctx) const {
  if (key.defined()) return ctx.loc(key);
  return ctx.loc(value);
}

Item Item::child(const yaml::Node& k, const yaml::Node& v, std::string_view name) const {
  std::string p;
  p.reserve(path.size() + 1 + name.size());
  if (!path.empty()) p.append(path).push_back('.');
  p.append(name);
  return Item{k, v, std::move(p)};
}

Item Item::element(const yaml::Node& v, std::size_t index) const {
  return Item{yaml::Node(), v, fmt::format("{}[{}]", path, index)};
}

Item root(const yaml::Node& doc) { return Item{yaml::Node(), doc, ""}; }

std::string describe(const yaml::Node& n) {
  if (!n.defined() || n.is_null()) return "nothing";
  if (n.is_map()) return "a map";
  if (n.is_list()) return "a list";
  return fmt::format("\"{}\"", n.scalar());
}

namespace {

bool expect_scalar(Ctx& ctx, const Item& it, std::string_view what) {
  if (it.value.is_scalar()) return true;
  ctx.error(it.loc(ctx), it.path, fmt::format("expected {}, found {}", what, describe(it.value)));
  return false;
}

}  // namespace

bool get_string(Ctx& ctx, const Item& it, std::string& out) {
  if (it.is_null()) {
    out.clear();
    return true;
  }
  if (!expect_scalar(ctx, it, "a string")) return false;
  out = it.value.scalar();
  return true;
}

bool get_bool(Ctx& ctx, const Item& it, bool& out) {
  if (it.is_null() || !it.value.is_scalar()) {
    ctx.error(it.loc(ctx), it.path,
              fmt::format("expected a boolean (true or false), found {}", describe(it.value)));
    return false;
  }
  const std::string_view s = it.value.scalar();
  if (s == "true" || s == "True" || s == "TRUE") {
    out = true;
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    out = false;
    return true;
  }
  ctx.error(it.loc(ctx), it.path, fmt::format("expected a boolean (true or false), found \"{}\"", s));
  return false;
}

bool get_int(Ctx& ctx, const Item& it, int& out) {
  if (it.is_null() || !it.value.is_scalar()) {
    ctx.error(it.loc(ctx), it.path, fmt::format("expected an integer, found {}", describe(it.value)));
    return false;
  }
  const std::string_view s = it.value.scalar();
  const char* b = s.data();
  if (!s.empty() && s[0] == '+') ++b;
  int v = 0;
  auto [end, ec] = std::from_chars(b, s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    ctx.error(it.loc(ctx), it.path, fmt::format("integer \"{}\" is out of range", s));
    return false;
  }
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    ctx.error(it.loc(ctx), it.path, fmt::format("expected an integer, found \"{}\"", s));
    return false;
  }
  out = v;
  return true;
}

bool get_duration(Ctx& ctx, const Item& it, Duration& out, bool allow_negative) {
  if (it.is_null() || !it.value.is_scalar()) {
    ctx.error(it.loc(ctx), it.path,
              fmt::format("expected a duration (e.g. \"10s\", \"1m30s\", \"250ms\"), found {}",
                          describe(it.value)));
    return false;
  }
  bool ok = false;
  Duration d = parse_duration(it.value.scalar(), &ok);
  if (!ok) {
    ctx.error(it.loc(ctx), it.path,
              fmt::format("bad duration \"{}\": use Go syntax such as \"10s\", \"1m30s\", \"250ms\", "
                          "or a number of seconds",
                          it.value.scalar()));
    return false;
  }
  if (d.count() < 0 && !allow_negative) {
    ctx.error(it.loc(ctx), it.path,
              fmt::format("duration \"{}\" must not be negative", it.value.scalar()));
    return false;
  }
  out = d;
  return true;
}

bool get_string_list(Ctx& ctx, const Item& it, std::vector<std::string>& out) {
  std::vector<std::string> v;
  bool good = true;
  if (!for_each_element(ctx, it, [&](const Item& e) {
        std::string s;
        if (e.is_null()) {
          ctx.error(e.loc(ctx), e.path, "expected a string, found nothing");
          good = false;
        } else if (get_string(ctx, e, s)) {
          v.push_back(std::move(s));
        } else {
          good = false;
        }
      }))
    return false;
  if (!good) return false;
  out = std::move(v);
  return true;
}

bool get_file(Ctx& ctx, const Item& it, std::string& out) {
  std::string s;
  if (!get_string(ctx, it, s)) return false;
  if (s.empty()) {
    ctx.error(it.loc(ctx), it.path, "must not be empty: give a file path or inline PEM");
    return false;
  }
  std::string r = ctx.resolve(s);
  if (r.rfind("-----BEGIN", 0) != 0) {
    std::error_code ec;
    if (!fs::exists(r, ec)) {
      ctx.error(it.loc(ctx), it.path, fmt::format("file \"{}\" does not exist", r));
      return false;
    }
    if (fs::is_directory(r, ec)) {
      ctx.error(it.loc(ctx), it.path, fmt::format("\"{}\" is a directory, not a file", r));
      return false;
    }
    if (::access(r.c_str(), R_OK) != 0) {
      ctx.error(it.loc(ctx), it.path, fmt::format("file \"{}\" is not readable", r));
      return false;
    }
  }
  out = std::move(r);
  return true;
}

bool get_file_list(Ctx& ctx, const Item& it, std::vector<std::string>& out) {
  std::vector<std::string> v;
  for_each_element(ctx, it, [&](const Item& e) {
    std::string s;
    if (get_file(ctx, e, s)) v.push_back(std::move(s));
  });
  out = std::move(v);
  return true;
}

}  // namespace snigate::config::walk
