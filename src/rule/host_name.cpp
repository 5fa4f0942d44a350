#include "rule/host_name.hpp"

namespace snigate::rule {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_ascii_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // Names in rules and SNI as matched are nearly always lower case already:
  // one memcmp, and the per-character fold only when it says no.
  if (a == b) return true;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == ':';
}

}  // namespace

std::optional<std::string> normalize_host_pattern(std::string& name) {
  const std::string quoted = "`" + name + "`";
  for (char& c : name) c = lower(c);
  if (name == "*") return std::nullopt;
  if (name.size() > 1 && name.back() == '.') name.pop_back();  // FQDN spelling of the same name
  if (name.empty()) return std::string("HostSNI needs a server name, or `*` for every client");
  std::string_view rest = name;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  for (char c : rest) {
    if (c == '*') {
      return quoted + ": a wildcard must be the whole first label, as in `*.example.com`; use HostSNIRegexp for other patterns";
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      return quoted + " is not ASCII; write internationalized names in their xn-- (punycode) form";
    }
    if (!is_name_char(c)) return quoted + " is not a valid server name";
  }
  if (rest.empty() || rest.front() == '.' || rest.find("..") != std::string_view::npos) {
    return quoted + " has an empty label";
  }
  return std::nullopt;
}

bool host_matches(std::string_view pattern, std::string_view sni) {
  if (pattern == "*") return true;
  if (sni.size() > 1 && sni.back() == '.') sni.remove_suffix(1);
  if (sni.empty()) return false;
  if (!pattern.starts_with("*.")) return equal_ascii_nocase(pattern, sni);
  // `*.example.com` stands for exactly one label: a.example.com, not
  // example.com and not a.b.example.com.
  const std::string_view suffix = pattern.substr(1);  // ".example.com"
  if (sni.size() <= suffix.size()) return false;
  const std::string_view label = sni.substr(0, sni.size() - suffix.size());
  return label.find('.') == std::string_view::npos &&
         equal_ascii_nocase(sni.substr(sni.size() - suffix.size()), suffix);
}

}  // namespace snigate::rule
