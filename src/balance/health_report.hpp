#pragma once
// What a service's health looks like from outside: whether it can take a
// connection, the words a refusal uses when it cannot, and for `snigate
// explain` which server it would pick next and why. Reads the shared state,
// never changes it.
#include <string>

#include "balance/service.hpp"

namespace snigate::balance {

// Servers of a load balancer that neither the check nor passive health
// holds out now.
std::size_t count_usable(const Service& lb, Nanos now);
// A load balancer with a usable server, or a weighted service with an
// eligible child that has one.
bool service_usable(const Service& svc, Nanos now);
// "every server of service X is down (health check: A: why; ...)", or the
// weighted service's equivalent.
std::string down_detail(const Service& svc);

// Lines (each ending in '\n') that say, for explain, which server the
// service would take next and the state of each server and child.
std::string explain_choice(const Service& svc, Nanos now);

}  // namespace snigate::balance
