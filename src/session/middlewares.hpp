#pragma once
// The journey's middleware step: the chosen route's chain, run for the
// client's address before anything reaches a server (docs/policy.md).
#include "session/conn.hpp"
#include "session/refusal.hpp"

namespace snigate::session {

// Runs the route's middlewares. On success the in-flight slots taken are in
// c.tickets; a refusal names the router and the middleware, never the ranges.
Refused run_middlewares(Conn& c, const Route& r);

// The refusal for a middleware that did not let the client through.
Refusal middleware_refusal(const Route& r, const policy::Middleware& m);

}  // namespace snigate::session
