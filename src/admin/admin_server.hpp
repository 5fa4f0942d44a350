#pragma once
// The admin entry points (those that serve the API, /metrics or /ping),
// listening and served on a thread of their own.
#include <memory>
#include <string>

#include "admin/state.hpp"

namespace snigate::admin {

struct AdminServer;
struct AdminServerStop {
  void operator()(AdminServer* s) const;  // closes the listeners, stops and joins the thread
};
using AdminServerPtr = std::unique_ptr<AdminServer, AdminServerStop>;

// Opens every admin entry point of state.stat and starts serving. nullptr
// with error set when one cannot listen; an empty pointer too when there is
// none to serve (error then empty).
AdminServerPtr start_admin(State state, std::string& error);

}  // namespace snigate::admin
