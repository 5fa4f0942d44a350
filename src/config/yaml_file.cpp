// Reading a YAML file into a Document, with the errors a configuration file gets.
#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "config/yaml_doc.hpp"
#include "config/yaml_hint.hpp"

namespace snigate::config::yaml {

namespace {

// Built field by field: GCC 12 at -O3 misreads brace-initialized Error temporaries
// (-Wmaybe-uninitialized).
void push(std::vector<Error>& out, const std::string& file, int line, std::string message) {
  Error& e = out.emplace_back();
  e.loc.file = file;
  e.loc.line = line;
  e.message = std::move(message);
}

}  // namespace

std::shared_ptr<const Document> parse_text(const std::string& text, const std::string& path,
                                           std::vector<Error>& errors) {
  auto parsed = parse(text);
  if (auto* doc = std::get_if<std::shared_ptr<const Document>>(&parsed)) return std::move(*doc);
  const SyntaxError& e = std::get<SyntaxError>(parsed);
  const YamlHint hint = yaml_syntax_hint(text, e.line);
  if (hint.line == 0)
    push(errors, path, e.line, fmt::format("YAML syntax error: {}", e.message));
  else
    push(errors, path, hint.line,
         fmt::format("YAML syntax error: {} (the parser stopped at line {}: {})", hint.message, e.line, e.message));
  return nullptr;
}

std::shared_ptr<const Document> read_file(const std::string& path, std::vector<Error>& errors) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    push(errors, path, 0, "is a directory, not a YAML file");
    return nullptr;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    push(errors, path, 0, fmt::format("cannot read: {}", std::strerror(errno)));
    return nullptr;
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  std::string text(size > 0 ? static_cast<std::size_t>(size) : 0, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(text.size()))) {
    push(errors, path, 0, fmt::format("cannot read: {}", std::strerror(errno)));
    return nullptr;
  }
  return parse_text(text, path, errors);
}

}  // namespace snigate::config::yaml
