#pragma once
// /metrics: the counters, the current Snapshot's certificates and server
// health, in Prometheus's text format (prometheus-cpp's model and serializer).
#include <string>

#include "admin/state.hpp"

namespace snigate::admin {

std::string prometheus_text(const State& state);

}  // namespace snigate::admin
