#include "acme/storage.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "wire/base64.hpp"

namespace snigate::acme {
namespace {

using nlohmann::json;

bool parse_doc(std::string_view text, const std::string& source, json& doc, std::string& error) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    doc = json::object();
    return true;
  }
  doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    error = source + ": not a JSON object (an acme.json file holds one key per resolver)";
    return false;
  }
  return true;
}

bool read_doc(const std::string& path, json& doc, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) {
      doc = json::object();
      return true;
    }
    error = path + ": " + std::strerror(errno);
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_doc(text.str(), path, doc, error);
}

std::string b64_field(const json& j, const char* key, bool& ok) {
  if (!j.contains(key)) return {};
  if (!j[key].is_string()) {
    ok = false;
    return {};
  }
  auto bytes = wire::base64_decode(j[key].get<std::string>());
  if (!bytes) ok = false;
  return bytes.value_or("");
}

std::string str_field(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

bool parse_account(const json& a, StoredAccount& out) {
  bool ok = a.is_object();
  if (!ok) return false;
  out.email = str_field(a, "Email");
  out.key_type = str_field(a, "KeyType");
  out.key_der = b64_field(a, "PrivateKey", ok);
  if (a.contains("Registration") && a["Registration"].is_object()) {
    out.registration_uri = str_field(a["Registration"], "uri");
    if (a["Registration"].contains("body")) out.registration_body = a["Registration"]["body"].dump();
  }
  return ok;
}

bool parse_cert(const json& c, StoredCert& out) {
  bool ok = c.is_object();
  if (!ok) return false;
  if (c.contains("domain") && c["domain"].is_object()) {
    out.main = str_field(c["domain"], "main");
    if (c["domain"].contains("sans") && c["domain"]["sans"].is_array())
      for (const auto& s : c["domain"]["sans"])
        if (s.is_string()) out.sans.push_back(s.get<std::string>());
  }
  out.cert_pem = b64_field(c, "certificate", ok);
  out.key_pem = b64_field(c, "key", ok);
  if (c.contains("Store") && c["Store"].is_string()) out.store = c["Store"].get<std::string>();
  return ok && !out.main.empty() && !out.cert_pem.empty() && !out.key_pem.empty();
}

json account_json(const StoredAccount& a) {
  json reg = json::object();
  if (!a.registration_body.empty()) {
    json body = json::parse(a.registration_body, nullptr, false);
    if (!body.is_discarded()) reg["body"] = body;
  }
  if (!a.registration_uri.empty()) reg["uri"] = a.registration_uri;
  return json{{"Email", a.email}, {"Registration", reg}, {"PrivateKey", wire::base64_encode(a.key_der)},
              {"KeyType", a.key_type}};
}

json cert_json(const StoredCert& c) {
  json domain{{"main", c.main}};
  if (!c.sans.empty()) domain["sans"] = c.sans;
  return json{{"domain", domain}, {"certificate", wire::base64_encode(c.cert_pem)},
              {"key", wire::base64_encode(c.key_pem)}, {"Store", c.store}};
}

bool entry_of(const json& doc, const std::string& path, const std::string& resolver, ResolverState& out,
              std::string& error) {
  out = ResolverState{};
  if (!doc.contains(resolver) || doc[resolver].is_null()) return true;
  const json& entry = doc[resolver];
  if (!entry.is_object()) {
    error = path + ": \"" + resolver + "\" is not an object";
    return false;
  }
  if (entry.contains("Account") && !entry["Account"].is_null()) {
    StoredAccount a;
    if (!parse_account(entry["Account"], a)) {
      error = path + ": " + resolver + ".Account is not an ACME account in Traefik's layout";
      return false;
    }
    out.account = std::move(a);
  }
  if (entry.contains("Certificates") && entry["Certificates"].is_array()) {
    std::size_t i = 0;
    for (const auto& c : entry["Certificates"]) {
      StoredCert sc;
      if (!parse_cert(c, sc)) {
        error = path + ": " + resolver + ".Certificates[" + std::to_string(i) +
                "] needs domain.main, and certificate and key in base64";
        return false;
      }
      out.certs.push_back(std::move(sc));
      ++i;
    }
  }
  return true;
}

}  // namespace

std::string storage_entry_json(const ResolverState& state) {
  json certs = json::array();
  for (const auto& c : state.certs) certs.push_back(cert_json(c));
  return json{{"Account", state.account ? account_json(*state.account) : json(nullptr)}, {"Certificates", certs}}.dump();
}

bool parse_storage(std::string_view text, const std::string& source, const std::string& resolver, ResolverState& out,
                   std::string& error) {
  json doc;
  return parse_doc(text, source, doc, error) && entry_of(doc, source, resolver, out, error);
}

bool read_storage(const std::string& path, const std::string& resolver, ResolverState& out, std::string& error) {
  json doc;
  return read_doc(path, doc, error) && entry_of(doc, path, resolver, out, error);
}

bool write_storage(const std::string& path, const std::string& resolver, const ResolverState& state,
                   std::string& error) {
  json doc;
  if (!read_doc(path, doc, error)) return false;
  json entry = doc.contains(resolver) && doc[resolver].is_object() ? doc[resolver] : json::object();
  entry["Account"] = state.account ? account_json(*state.account) : json(nullptr);
  json certs = json::array();
  for (const auto& c : state.certs) certs.push_back(cert_json(c));
  entry["Certificates"] = certs;
  doc[resolver] = entry;
  const std::string text = doc.dump(2) + "\n";
  // Its directory, when missing, is made private to snigate's user.
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (!ec) std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = tmp + ": " + std::strerror(errno);
    return false;
  }
  ::fchmod(fd, 0600);  // an older temporary file may have had another mode
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = tmp + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace snigate::acme
