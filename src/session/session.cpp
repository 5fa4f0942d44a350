#include "session/session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/relay.hpp"
#include "net/send_all.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "observe/refusals.hpp"
#include "session/client_tls.hpp"
#include "session/driver.hpp"
#include "session/live.hpp"
#include "session/mail_driver.hpp"
#include "session/middlewares.hpp"
#include "session/mysql_driver.hpp"
#include "session/no_route.hpp"
#include "session/options_check.hpp"
#include "session/pg_driver.hpp"
#include "session/proxy_in.hpp"
#include "session/tls_driver.hpp"
#include "session/whoami.hpp"
#include "session/xmpp_driver.hpp"

namespace snigate::session {

std::atomic<long> open_connections{0};

namespace {

using net::awaitable;
using net::tcp;

double seconds_since(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::system_clock::now() - t).count();
}

void count(const observe::AccessRecord& rec) {
  observe::count_connection({rec.entry_point, rec.router, rec.service, rec.mode, rec.end, rec.bytes_in,
                             rec.bytes_out, seconds_since(rec.start), rec.handshake_seconds, rec.connect_seconds});
}

// The end of every connection: the access-log line, the counts, and one
// fewer to drain.
void finish(observe::AccessRecord& rec, std::atomic<long>& entry_open) {
  if (rec.end.empty()) rec.end = "closed";
  observe::write_access(rec);
  count(rec);
  if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug("{} {} -> router {} service {} server {}: {} in, {} out, {}{}", rec.client,
                  observe::printable(rec.sni), rec.router, rec.service, rec.server, rec.bytes_in, rec.bytes_out,
                  rec.end, rec.detail.empty() ? "" : ": " + observe::printable(rec.detail));
  open_connections.fetch_sub(1, std::memory_order_relaxed);
  entry_open.fetch_sub(1, std::memory_order_relaxed);
}

// The one place a refusal is recorded and logged.
void record(Conn& c, const Refusal& r) {
  c.rec.end = r.end;
  c.rec.detail = r.detail.empty() ? with_hint(r) : r.detail;
  if (r.level != spdlog::level::off && spdlog::should_log(r.level))
    spdlog::log(r.level, "{}: {}", c.rec.client, observe::printable(c.rec.detail));
}

// A refusal once the driver runs: recorded, then said in the client's protocol.
template <Driver D>
awaitable<void> refuse(Conn& c, D& d, const Refusal& r) {
  record(c, r);
  co_await d.speak(c, r);
}

// The route for what the preamble learned, and the checks every protocol
// shares: a route is reached only over a TLS handshake it accepts.
Refused pick(Conn& c, const Route*& r) {
  r = c.open.route ? c.open.route : match(c.entry, c.facts);
  if (!r) return no_route_refusal(c.entry, c.facts, c.open.name_from_user);
  c.rec.router = r->name;
  c.rec.service = r->service->name;
  if (r->passthrough && c.client.tls) return passthrough_refusal(c.entry, *r);
  if (std::string why = options_mismatch(c, *r); !why.empty()) return options_refusal(c.entry, *r, std::move(why));
  return std::nullopt;
}

// A router that ends TLS takes a client whose ClientHello is still unanswered.
bool must_terminate(const Conn& c, const Route& r) { return c.open.hello_pending && r.tls && !r.passthrough; }

// The connection is set up: the relay takes both sides over and returns at
// once, so the journey's frames are freed while it runs. When it ends it
// completes the access record (bytes, end; its detail after any already
// there), writes the access-log line and stops counting the connection.
// c.held and c.tickets live until then.
void relay_and_finish(Conn& c, Upstream& up, net::RelayLimits limits) {
  c.relayed = true;
  net::RelayDone done;
  std::atomic<long>& entry_open = *c.entry.open;
  const bool live = live_connections_enabled();
  if (observe::access_log_open() || spdlog::should_log(spdlog::level::debug) || observe::metrics_enabled() || live) {
    // The record and the Snapshot (rec.entry_point points into it) move to
    // the relay's callback; the journey must not touch c.rec after this. The
    // record has a place of its own, which the list of open connections
    // points to.
    auto rec = std::make_shared<observe::AccessRecord>(std::move(c.rec));
    std::optional<LiveHandle> listed;
    if (live) listed = add_live(*rec);
    done = [rec, snapshot = c.snapshot, held = std::move(c.held), tickets = std::move(c.tickets), &entry_open,
            listed](const net::RelayResult& rr) {
      if (listed) remove_live(*listed);
      rec->bytes_in += rr.up;
      rec->bytes_out += rr.down;
      rec->end = net::to_string(rr.end);
      if (rec->detail.empty()) rec->detail = rr.detail;
      else if (!rr.detail.empty()) rec->detail += "; " + rr.detail;
      finish(*rec, entry_open);
    };
    net::start_relay({std::move(c.client.sock), std::move(c.client.tls)}, {std::move(up.leg.sock), std::move(up.leg.tls)},
                     limits, std::move(done), std::move(c.up_filter), listed ? &(*listed)->relay : nullptr);
    return;
  }
  // Nothing would be written or counted at the end: an idle connection
  // keeps no record, only the Snapshot it started with.
  done = [snapshot = c.snapshot, held = std::move(c.held), tickets = std::move(c.tickets),
          &entry_open](const net::RelayResult&) {
    open_connections.fetch_sub(1, std::memory_order_relaxed);
    entry_open.fetch_sub(1, std::memory_order_relaxed);
  };
  net::start_relay({std::move(c.client.sock), std::move(c.client.tls)}, {std::move(up.leg.sock), std::move(up.leg.tls)},
                   limits, std::move(done), std::move(c.up_filter));
}

// Early bytes are at most a ClientHello or a login's tail, which a fresh
// socket takes at once: one send() here, and only what that leaves (or a TLS
// leg) costs a coroutine.
std::size_t send_at_once(Leg& leg, std::span<const std::uint8_t> bytes, std::error_code& ec) {
  return leg.tls || bytes.empty() ? 0 : net::send_now(leg.sock, bytes, ec);
}

awaitable<std::error_code> send_rest(Leg& leg, std::span<const std::uint8_t> bytes) {
  std::error_code ec;
  if (leg.tls) co_await leg.tls->write_all(leg.sock, bytes, ec);
  else ec = co_await net::send_all(leg.sock, bytes);
  co_return ec;
}

// What either side sent before the relay goes on first (the client's early
// bytes up to the server, the server's past its login down to the client),
// then the relay takes both sides over.
awaitable<Refused> join(Conn& c, Upstream& up, const Route& r) {
  std::error_code ec;
  std::span<const std::uint8_t> rest = std::span(c.client.buf).subspan(up.early_sent);
  rest = rest.subspan(send_at_once(up.leg, rest, ec));
  if (!ec && !rest.empty()) ec = co_await send_rest(up.leg, rest);
  if (ec) co_return Refusal{Cause::silent, "reset", fmt::format("server {}: write: {}", c.rec.server, ec.message())};
  rest = up.leg.buf;
  rest = rest.subspan(send_at_once(c.client, rest, ec));
  if (!ec && !rest.empty()) ec = co_await send_rest(c.client, rest);
  if (ec) co_return Refusal{Cause::silent, "client_closed", fmt::format("client: write: {}", ec.message())};
  c.rec.bytes_in += c.client.buf.size();
  c.rec.bytes_out += up.leg.buf.size();
  std::vector<std::uint8_t>().swap(c.client.buf);
  std::vector<std::uint8_t>().swap(up.leg.buf);
  const Service& lb = up.server && up.server->lb ? *up.server->lb : *r.service;  // a weighted service's child
  relay_and_finish(c, up, {r.idle_timeout.value_or(c.entry.ep.tcp_idle_timeout), lb.termination_delay});
  co_return std::nullopt;
}

double seconds_since(net::Clock::time_point t) {
  return std::chrono::duration<double>(net::Clock::now() - t).count();
}

// GCC 12 reports -Wmismatched-new-delete for some coroutines' frames, a
// known false positive (GCC bug 109224: the promise's sized operator delete is
// matched against the global operator new after inlining). Scoped to the
// journey and serve so the check stays on everywhere else.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
// One connection's journey, whatever its protocol: preamble -> match ->
// middlewares -> terminate -> connect -> the server's side of the protocol
// -> relay. The first step that refuses ends it, in the client's protocol.
template <Driver D>
awaitable<void> journey(Conn& c) {
  D d;
  Refused s = co_await d.preamble(c);
  if (!s && std::exchange(c.open.hand_to_postgres, false)) {
    co_await journey<PgDriver>(c);
    co_return;
  }
  const Route* r = nullptr;
  if (!s) s = pick(c, r);
  if (!s) s = d.admit(c, *r);
  if (!s) s = run_middlewares(c, *r);
  if (!s && must_terminate(c, *r)) {
    const auto start = net::Clock::now();
    s = co_await secure_client(c, *r->options, r->name);
    c.rec.handshake_seconds = seconds_since(start);
  }
  if (!s && r->service->whoami) {
    co_await serve_whoami(c.client.sock, c.client.tls.get(), std::move(c.client.buf), c.rec);
    co_return;
  }
  Upstream up(c.client.sock.get_executor());
  if (!s) {
    const auto start = net::Clock::now();
    s = co_await connect_server(c, *r, up, d.first_bytes(c, *r));
    c.rec.connect_seconds = seconds_since(start);
  }
  if (!s) s = co_await d.open_server(c, *r, up);
  if (!s) s = co_await join(c, up, *r);
  if (s) co_await refuse(c, d, *s);
}

// Before any driver: a proxy's header says who the client is. A bad one is
// refused by closing, as no protocol has been spoken yet. false: refused.
// A frame of its own, so serve's stays as small without proxyProtocol.
awaitable<bool> through_proxy(Conn& c) {
  Refused r = co_await take_proxy_header(c);
  if (r) record(c, *r);
  co_return !r;
}

IpAddress ip_of(const tcp::endpoint& peer) {
  // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; both forms
  // are the same IpAddress, shown dotted.
  const auto addr = peer.address();
  return addr.is_v4() ? IpAddress::from_v4(addr.to_v4().to_bytes()) : IpAddress::from_bytes(addr.to_v6().to_bytes());
}

}  // namespace

awaitable<void> serve(tcp::socket client, tcp::endpoint peer, std::shared_ptr<const Snapshot> snap,
                      const EntryRoutes& entry) {
  open_connections.fetch_add(1, std::memory_order_relaxed);
  entry.open->fetch_add(1, std::memory_order_relaxed);
  Conn c{Leg(std::move(client)), *snap, entry, snap, net::Clock::now() + entry.ep.client_hello_timeout, {}, {}, {},
         false, {}, {}, {}, 0, {}};
  c.rec.start = std::chrono::system_clock::now();
  c.rec.entry_point = entry.ep.name;
  c.facts.client_ip = ip_of(peer);
  c.rec.client = c.facts.client_ip->with_port(peer.port());
  c.client_port = peer.port();
  try {
    bool go_on = true;
    if (entry.ep.proxy_protocol) go_on = co_await through_proxy(c);
    if (go_on) {
      switch (entry.ep.protocol) {  // the drivers
        case config::Protocol::tcp: co_await journey<TlsDriver>(c); break;
        case config::Protocol::mysql: co_await journey<MysqlDriver>(c); break;
        case config::Protocol::postgres: co_await journey<PgDriver>(c); break;
        case config::Protocol::smtp: co_await journey<SmtpDriver>(c); break;
        case config::Protocol::imap: co_await journey<ImapDriver>(c); break;
        case config::Protocol::pop3: co_await journey<Pop3Driver>(c); break;
        case config::Protocol::xmpp: co_await journey<XmppDriver>(c); break;
      }
    }
  } catch (const std::exception& e) {
    if (!c.relayed) {
      c.rec.end = "error";
      c.rec.detail = e.what();
    }
    spdlog::error("{}: {}", c.rec.client, observe::printable(e.what()));
  }
  if (c.relayed) co_return;
  if (c.rec.end != "closed" && c.rec.end != "acme_challenge" && !c.rec.end.empty()) observe::remember_refusal(c.rec);
  finish(c.rec, *entry.open);
}

#pragma GCC diagnostic pop

}  // namespace snigate::session
