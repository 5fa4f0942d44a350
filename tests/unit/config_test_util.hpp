#pragma once
// Helpers for the config tests: YAML files in a fresh temporary directory, and
// lookups of errors by key path.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace snigate::config::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "snigate-config-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` to dir/name (creating subdirectories) and returns the full path.
  std::string write(const std::string& name, const std::string& text) const {
    auto p = dir_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  std::string path(const std::string& name = "") const { return (dir_ / name).lexically_normal().string(); }

 private:
  std::filesystem::path dir_;
};

inline std::string dump(const std::vector<Error>& errs) {
  std::string s;
  for (const Error& e : errs) s += "  " + e.to_string() + "\n";
  return s;
}

// The only finding with this path; fails the test when there is not exactly one.
inline Error one(const std::vector<Error>& errs, const std::string& path) {
  std::vector<Error> hits;
  for (const Error& e : errs)
    if (e.path == path) hits.push_back(e);
  EXPECT_EQ(hits.size(), 1u) << "findings for " << path << ":\n" << dump(errs);
  return hits.empty() ? Error{} : hits.front();
}

inline bool has(const std::vector<Error>& errs, const std::string& path, const std::string& needle) {
  for (const Error& e : errs)
    if (e.path == path && e.message.find(needle) != std::string::npos) return true;
  return false;
}

constexpr const char* kEntry = "entryPoints:\n  websecure:\n    address: \":8443\"\n";

// The single error at `path`, checking its line and that the message holds `needle`.
inline void expect_error(const Loaded& l, const std::string& path, int line, const std::string& needle) {
  Error e = one(l.errors, path);
  EXPECT_EQ(e.loc.line, line) << e.to_string();
  EXPECT_NE(e.message.find(needle), std::string::npos) << e.to_string();
}

// kEntry (3 lines), then text from line 4.
inline Loaded load_after_entry(const TempDir& dir, const std::string& text) {
  return load(dir.write("s.yml", std::string(kEntry) + text));
}

}  // namespace snigate::config::test
