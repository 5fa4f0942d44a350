#pragma once
// The state of inFlightConn and rateLimit middlewares outlives a Snapshot: a
// reload must neither reset the counts (every open client would get a fresh
// allowance) nor leave the old ones behind. Each is kept here by middleware
// name; a Snapshot holds what it uses, and so does every in-flight ticket, so
// the state goes when the last of them does.
#include <memory>
#include <string>

#include "policy/in_flight.hpp"
#include "policy/rate_limit.hpp"

namespace snigate::policy {

std::shared_ptr<InFlightCounts> shared_in_flight(const std::string& middleware);
std::shared_ptr<RateBuckets> shared_rate_buckets(const std::string& middleware);

}  // namespace snigate::policy
