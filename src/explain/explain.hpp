#pragma once
// `snigate explain` and /api/explain: which router would take a client with
// the given facts, and for every other router, why not. Pure: no socket is
// opened; the servers' health is read as the Snapshot has it now.
#include "explain/result.hpp"
#include "session/snapshot.hpp"

namespace snigate::explain {

Result explain(const session::Snapshot& snap, const Query& q);

}  // namespace snigate::explain
