#pragma once
// What an ACME resolver holds, or is doing, for one name: for snigate explain
// and the API. In the running gateway it asks the ACME thread; from the
// command line it reads the resolver's storage.
#include <memory>
#include <string>

#include "config/config.hpp"
#include "tls/cert_store.hpp"

namespace snigate::acme {

struct NameReport {
  std::string text;
  std::shared_ptr<const tls::Cert> cert;  // what the resolver serves for the name (or will, from storage)
  bool unknown = false;  // the state is in etcd and this process cannot read it (the command line)
};

NameReport explain_name(const config::AcmeResolver& resolver, const std::string& name);

}  // namespace snigate::acme
