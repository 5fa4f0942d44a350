#include "tls/openssl.hpp"

#include <openssl/err.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace snigate::tls {

std::string take_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

bool read_pem(const std::string& path_or_pem, std::string& pem, std::string& error) {
  if (path_or_pem.starts_with("-----BEGIN")) {
    pem = path_or_pem;
    return true;
  }
  std::ifstream in(path_or_pem, std::ios::binary);
  if (!in) {
    error = "cannot read " + path_or_pem + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  pem = ss.str();
  return true;
}

}  // namespace snigate::tls
