#pragma once
// Times in the API as Traefik writes them: RFC 3339 in UTC.
#include <chrono>
#include <string>

namespace snigate::admin {

std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace snigate::admin
