#pragma once
// `snigate explain`: which router would take a client with the given facts,
// and for every other router, why not. Pure: no socket is opened.
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "session/snapshot.hpp"

namespace snigate::app {

struct ExplainQuery {
  std::string entry_point;
  bool plain = false;  // a client that does not start TLS
  std::string sni;
  std::vector<std::string> alpn;
  std::string client_ip;
  std::string user;  // a MySQL or PostgreSQL login's user name, maybe user@host
};

// Returns 0 when a router matches, 1 when none does, 2 on a bad query.
int explain(const session::Snapshot& snap, const ExplainQuery& q, std::ostream& out);

}  // namespace snigate::app
