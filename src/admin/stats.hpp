#pragma once
// /api/stats (snigate's own): counts since start per entry point and router,
// the open connections' bytes included, for the dashboard's live rates.
#include "admin/http.hpp"
#include "admin/state.hpp"

namespace snigate::admin {

Response stats_json(const State& state);

}  // namespace snigate::admin
