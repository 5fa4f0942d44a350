#include "session/xmpp_driver.hpp"

#include <fmt/format.h>

#include <random>

#include "net/linger.hpp"
#include "session/client_tls.hpp"
#include "session/mail_protocols.hpp"
#include "session/text_leg.hpp"

namespace snigate::session {

using net::awaitable;
namespace wx = wire;

namespace {

constexpr std::string_view kTlsNs = "urn:ietf:params:xml:ns:xmpp-tls";
constexpr std::size_t kMaxHeader = 4096;

struct HeaderRead {
  Got got = Got::done;
  wx::StreamHeader header;
  std::string raw;
  std::string why;
};

awaitable<HeaderRead> read_header(Leg& leg, net::Clock::time_point deadline) {
  HeaderRead out;
  const Framing take = [&out, &leg](std::vector<std::uint8_t>& buf, std::string& why) -> Framed {
    const wx::StreamHeaderRead h = wx::parse_stream_header(as_text(buf), kMaxHeader);
    if (h.status == wx::XmlStatus::bad) {
      why = h.error;
      return {Framed::bad};
    }
    if (h.status == wx::XmlStatus::need_more) return {Framed::more, read_size(leg, 512)};
    out.header = h.header;
    out.raw = std::string(as_text(buf).substr(0, h.header.size));
    drop_front(buf, h.header.size);
    return {Framed::whole};
  };
  out.got = co_await read_framed(leg, deadline, take, out.why);
  co_return out;
}

struct ElementRead {
  Got got = Got::done;
  wx::XmppElement element;
  std::string why;
};

awaitable<ElementRead> read_element(Leg& leg, net::Clock::time_point deadline) {
  ElementRead out;
  const Framing take = [&out, &leg](std::vector<std::uint8_t>& buf, std::string& why) -> Framed {
    const wx::XmppElementRead e = wx::next_xmpp_element(as_text(buf));
    if (e.status == wx::XmlStatus::bad) {
      why = e.error;
      return {Framed::bad};
    }
    if (e.status == wx::XmlStatus::need_more) return {Framed::more, read_size(leg, 512)};
    out.element = e.element;
    drop_front(buf, e.element.size);
    return {Framed::whole};
  };
  out.got = co_await read_framed(leg, deadline, take, out.why);
  co_return out;
}

std::string stream_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

// snigate's side of a stream: its header, answering the client's.
std::string own_header(const wx::StreamHeader& client, const std::string& host) {
  const std::string ns = client.xmlns.empty() ? "jabber:client" : client.xmlns;
  return fmt::format("<?xml version='1.0'?><stream:stream xmlns='{}' xmlns:stream='http://etherx.jabber.org/streams' "
                     "id='{}' from='{}' version='1.0'>",
                     wx::xml_escape(ns), stream_id(), wx::xml_escape(client.to.empty() ? host : client.to));
}

// RFC 6120 4.9.3: the stream error condition for a refusal.
std::string_view condition(Cause cause) {
  switch (cause) {
    case Cause::timeout: return "connection-timeout";
    case Cause::bad_request:
    case Cause::bad_hello: return "not-well-formed";
    case Cause::unknown_name: return "host-unknown";
    case Cause::denied:
    case Cause::not_allowed: return "policy-violation";
    case Cause::too_many: return "resource-constraint";
    case Cause::not_supported: return "unsupported-feature";
    case Cause::unreachable:
    case Cause::lost:
    case Cause::answered: return "remote-connection-failed";
    default: return "undefined-condition";
  }
}

Refusal header_failure(const Conn& c, const HeaderRead& h) {
  if (h.got == Got::closed) return client_gone("the client closed before its stream header");
  if (h.got == Got::bad && !c.client.buf.empty() && c.client.buf[0] == 0x16)  // a TLS handshake record
    return {Cause::bad_request, "bad_request",
            fmt::format("direct TLS on entry point {}, which speaks XMPP (a stream header, then STARTTLS): direct "
                        "TLS (port 5223) belongs on a tcp entry point",
                        c.entry.ep.name)};
  if (h.got == Got::timeout)
    return {Cause::timeout, "timeout",
            fmt::format("no stream header, STARTTLS and ClientHello within clientHelloTimeout ({} ms)",
                        c.entry.ep.client_hello_timeout.count())};
  return {Cause::bad_request, "bad_request", "a bad stream header: " + h.why};
}

}  // namespace

awaitable<Refused> XmppDriver::preamble(Conn& c) {
  c.rec.mode = "xmpp";
  HeaderRead h = co_await read_header(c.client, c.hello_deadline);
  if (h.got != Got::done) co_return header_failure(c, h);
  header = std::move(h.raw);
  stream = h.header;
  const std::string opening = own_header(stream, mail::hostname(c.entry.ep)) +
                              "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
                              "</starttls></stream:features>";
  if (!co_await write_text(c.client, opening, c.hello_deadline)) co_return client_gone("could not send the stream header");
  said_header = true;
  const ElementRead e = co_await read_element(c.client, c.hello_deadline);
  if (e.got == Got::closed) co_return client_gone("the client closed before STARTTLS");
  if (e.got == Got::timeout) co_return header_failure(c, {Got::timeout, {}, {}, {}});
  if (e.got == Got::bad) co_return Refusal{Cause::bad_request, "bad_request", "a bad element: " + e.why};
  if (e.element.name == "/stream") {
    const std::string close = "</stream:stream>";  // RFC 6120 4.4: answer the close with a close
    co_await write_text(c.client, close, c.hello_deadline);
    co_return Refusal{Cause::finished, "closed", "the client closed its stream"};
  }
  if (e.element.name != "starttls" || e.element.xmlns != kTlsNs)
    co_return Refusal{Cause::denied, "plaintext_refused",
                      fmt::format("<{}> before STARTTLS: entry point {} chooses the server by the name the client's "
                                  "TLS sends (SNI), or its stream's to, and takes no stream without TLS",
                                  e.element.name, c.entry.ep.name)};
  if (!c.client.buf.empty())
    co_return Refusal{Cause::bad_request, "bad_request", "the client sent more after <starttls/> before <proceed/>"};
  const std::string proceed = "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
  if (!co_await write_text(c.client, proceed, c.hello_deadline)) co_return client_gone("could not send <proceed/>");
  said_header = false;  // TLS starts a new stream
  upgrading = true;
  if (Refused s = co_await read_hello(c, true)) co_return s;
  if (c.open.sni.empty() && !stream.to.empty()) {
    // No SNI: the stream's to= names the server, and the certificate snigate
    // terminates with, as the SNI would have.
    c.open.sni = lower_ascii(stream.to);
    c.open.name_from_user = true;
    set_routing_name(c, c.open.sni);
  }
  co_return std::nullopt;
}

Refused XmppDriver::admit(Conn&, const Route& r) {
  passthrough = r.passthrough;
  return std::nullopt;
}

awaitable<Refused> XmppDriver::open_server(Conn& c, const Route& r, Upstream& up) {
  if (!passthrough && !up.server->tls) co_return std::nullopt;
  if (Refused s = co_await server_starttls(r, up)) co_return s;
  if (passthrough) co_return std::nullopt;
  co_return co_await secure_server(r, up, c.facts.sni);
}

// The server hears the client's stream header and gets to <proceed/>.
awaitable<Refused> XmppDriver::server_starttls(const Route& r, Upstream& up) {
  const auto deadline = net::Clock::now() + up.server->lb->dial_timeout;
  if (!co_await write_text(up.leg, header, deadline))
    co_return mail::server_silent(r, up, "the stream header", "could not send it");
  const HeaderRead h = co_await read_header(up.leg, deadline);
  if (h.got != Got::done) co_return mail::server_silent(r, up, "the stream header", h.why);
  ElementRead e = co_await read_element(up.leg, deadline);
  if (e.got != Got::done) co_return mail::server_silent(r, up, "the stream header", e.why);
  if (e.element.name != "features")  // a stream error names its condition in its first child
    co_return mail::server_refused(r, up, "the stream header",
                                   "<" + e.element.name + ">" +
                                       (e.element.children.empty() ? "" : " " + e.element.children.front()));
  if (std::ranges::find(e.element.children, "starttls") == e.element.children.end())
    co_return Refusal{Cause::not_supported, "backend_no_starttls",
                      fmt::format("router {}: server {} does not offer STARTTLS in its stream features", r.name,
                                  up.server->address)};
  const std::string starttls = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
  if (!co_await write_text(up.leg, starttls, deadline))
    co_return mail::server_silent(r, up, "<starttls/>", "could not send it");
  e = co_await read_element(up.leg, deadline);
  if (e.got != Got::done) co_return mail::server_silent(r, up, "<starttls/>", e.why);
  if (e.element.name != "proceed") co_return mail::server_refused(r, up, "<starttls/>", "<" + e.element.name + ">");
  if (!up.leg.buf.empty())
    co_return Refusal{Cause::unreachable, "backend_bad_greeting",
                      fmt::format("router {}: server {} sent more after <proceed/>, before TLS", r.name,
                                  up.server->address)};
  co_return std::nullopt;
}

awaitable<void> XmppDriver::speak(Conn& c, const Refusal& r) {
  if (!co_await ready_to_answer(c, r, upgrading)) co_return;
  // After TLS the client opens a new stream first: read its header, as
  // closing with unread input resets the connection and can destroy the
  // error.
  const auto soon = net::Clock::now() + net::Duration(1000);
  if (c.client.tls && !said_header) co_await read_header(c.client, soon);
  std::string error = said_header ? std::string() : own_header(stream, mail::hostname(c.entry.ep));
  error += fmt::format("<stream:error><{} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
                       "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>{}</text></stream:error></stream:stream>",
                       condition(r.cause), wx::xml_escape("snigate: " + with_hint(r)));
  co_await write_text(c.client, error, soon);
  co_await net::close_after_reply(c.client.sock, c.client.tls.get());
}

}  // namespace snigate::session
