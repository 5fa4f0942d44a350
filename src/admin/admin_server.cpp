#include "admin/admin_server.hpp"

#include <spdlog/spdlog.h>

#include <deque>
#include <thread>

#include "admin/http_server.hpp"
#include "admin/routes.hpp"
#include "net/listener.hpp"

namespace snigate::admin {

struct AdminServer {
  State state;
  asio::io_context io{1};
  std::deque<net::tcp::acceptor> acceptors;
  std::thread thread;
};

void AdminServerStop::operator()(AdminServer* s) const {
  if (!s) return;
  asio::post(s->io, [s] {
    for (auto& a : s->acceptors) a.close();
    s->io.stop();
  });
  if (s->thread.joinable()) s->thread.join();
  delete s;
}

namespace {

std::string what_is_served(const Served& s) {
  std::string out;
  auto add = [&out](bool on, const char* what) {
    if (on) out += out.empty() ? what : std::string(", ") + what;
  };
  add(s.api, "the API");
  add(s.dashboard, "the dashboard");
  add(s.metrics, "/metrics");
  add(s.ping, "/ping");
  return out;
}

bool listen_admin(AdminServer& s, const config::EntryPoint& ep, std::string& error) {
  net::tcp::endpoint at;
  if (!net::parse_listen_address(ep.address, at, error)) {
    error = "entryPoints." + ep.name + ".address: " + error;
    return false;
  }
  std::error_code ec;
  s.acceptors.push_back(net::open_listener(s.io, at, net::PortShare::alone, ec));
  if (ec) {
    error = "entry point " + ep.name + ": cannot listen on " + ep.address + ": " + ec.message();
    return false;
  }
  const Served what = served_on(s.state.stat, ep.name);
  Handler handler = [&s, what](const Request& req) { return dispatch(req, s.state, what); };
  asio::co_spawn(s.io, serve_http(s.acceptors.back(), std::move(handler), HttpLimits{}), asio::detached);
  spdlog::info("entry point {} listening on {}: HTTP, serving {}", ep.name, ep.address, what_is_served(what));
  return true;
}

}  // namespace

AdminServerPtr start_admin(State state, std::string& error) {
  AdminServerPtr s(new AdminServer{std::move(state), {}, {}, {}});
  bool any = false;
  for (const auto& [name, ep] : s->state.stat.entry_points) {
    if (!ep.admin) continue;
    any = true;
    if (!listen_admin(*s, ep, error)) return nullptr;
  }
  if (!any) return nullptr;
  s->thread = std::thread([p = s.get()] {
    auto guard = asio::make_work_guard(p->io);
    p->io.run();
  });
  return s;
}

}  // namespace snigate::admin
