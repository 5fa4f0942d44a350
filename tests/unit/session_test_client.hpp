#pragma once
// Facts that own their storage, for tests that match or explain routes.
#include <string>
#include <vector>

#include "rule/facts.hpp"

namespace snigate::session::test {

struct Client {
  explicit Client(bool is_tls, std::string name = "", std::vector<std::string> protocols = {})
      : tls(is_tls), sni(std::move(name)), alpn(std::move(protocols)) {}
  bool tls = false;
  std::string sni;
  std::vector<std::string> alpn;
  std::string ip = "192.0.2.7";
  Facts facts() const {
    Facts f;
    f.tls = tls;
    f.sni = sni;
    f.alpn = alpn;
    f.client_ip = IpAddress::parse(ip);
    return f;
  }
};

}  // namespace snigate::session::test
