#pragma once
// The steps of explain(), each in its own file; shared inside this module only.
#include <string>
#include <vector>

#include "explain/result.hpp"
#include "rule/facts.hpp"
#include "session/snapshot.hpp"

namespace snigate::explain {

// The entry point the query names, or the only one there is; nullptr after
// setting error to why there is none.
const session::EntryRoutes* pick_entry(const session::Snapshot& snap, const Query& q, std::string& error);

// The client as entry sees it: the routed name (from --sni or user@host),
// and the facts the rules are matched against. False after setting error to
// what in the query cannot be.
bool see_client(const session::EntryRoutes& entry, const Query& q, Client& client, Facts& facts, std::string& error);

// The chosen router, with the certificate a terminating one would present.
RouterVerdict chosen_verdict(const session::Snapshot& snap, const session::Route& r, const std::string& sni);
// A router that does not take the client, and why.
RouterVerdict missed_verdict(const session::Route& r, const Facts& facts, const session::Route* chosen);

// Which of the entry point's routes (by position) explain lists one by one:
// every one when there are few or `all`, else the route index's candidates
// for the client.
std::vector<bool> listed_routes(const session::EntryRoutes& entry, const Facts& facts, bool all);
// Counts a route left out of the listing under its reason.
void count_unlisted(const session::Route& r, const Facts& facts, std::vector<Unlisted>& out);

// The chosen router's middlewares in order, each with what it does to the client.
std::vector<MiddlewareCheck> check_middlewares(const session::Route& r, const Facts& facts);
// "router r: middleware m (kind) does not allow ...": why the chain refuses, or "" when it does not.
std::string middleware_refusal(const session::Route& r, const std::vector<MiddlewareCheck>& checks,
                               const Facts& facts);

}  // namespace snigate::explain
