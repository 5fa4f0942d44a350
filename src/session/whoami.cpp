#include "session/whoami.hpp"

#include "net/linger.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace snigate::session {

using net::awaitable;

namespace {

// The proxy that sent a PROXY header for the client, when there was one.
std::string peer_line(const observe::AccessRecord& r) {
  return r.peer.empty() || r.peer == r.client ? "" : "peer: " + r.peer + "\n";
}

}  // namespace

std::string whoami_text(const observe::AccessRecord& r, std::string_view cipher) {
  auto or_none = [](const std::string& s, std::string_view none) { return s.empty() ? std::string(none) : s; };
  return fmt::format(
      "snigate whoami\n"
      "entry_point: {}\nclient: {}\n{}router: {}\ntls: {}\nsni: {}\nalpn_offered: {}\nalpn: {}\n"
      "tls_version: {}\ncipher: {}\n",
      r.entry_point, r.client, peer_line(r), r.router, r.tls ? "yes" : "no", or_none(r.sni, "(none)"),
      or_none(r.alpn, "(none)"), or_none(r.alpn_chosen, "(none)"), or_none(r.tls_version, "(none)"),
      cipher.empty() ? "(none)" : cipher);
}

namespace {

bool looks_like_http1(std::string_view s) {
  for (std::string_view m : {"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "})
    if (s.starts_with(m)) return true;
  return false;
}

}  // namespace

awaitable<void> serve_whoami(net::tcp::socket& sock, net::TlsStream* tls, std::vector<std::uint8_t> early,
                             observe::AccessRecord& rec) {
  // Read what the client sends first, briefly: enough to tell HTTP from not.
  std::string head(early.begin(), early.end());
  auto read_head = [&]() -> awaitable<void> {
    std::uint8_t buf[2048];
    while (head.size() < 8192 && head.find("\r\n\r\n") == std::string::npos) {
      std::error_code ec;
      std::size_t n;
      if (tls) {
        n = co_await tls->read_some(sock, buf, ec);
      } else {
        auto [rec2, rn] = co_await sock.async_read_some(asio::buffer(buf), net::nothrow);
        ec = rec2;
        n = rn;
      }
      if (ec || n == 0) co_return;
      head.append(reinterpret_cast<const char*>(buf), n);
      if (!looks_like_http1(head) && head.size() >= 8) co_return;
    }
  };
  if (head.find("\r\n\r\n") == std::string::npos) co_await net::within(net::Duration(1000), read_head());
  rec.bytes_in = head.size();

  const char* cipher = tls ? SSL_get_cipher_name(tls->ssl()) : "";
  std::string body = whoami_text(rec, cipher ? cipher : "");
  std::string out;
  if (looks_like_http1(head)) {
    const auto line_end = head.find("\r\n");
    body += fmt::format("request: {}\n", head.substr(0, std::min(line_end, std::size_t{200})));
    out = fmt::format("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n"
                      "Connection: close\r\nServer: snigate\r\n\r\n{}",
                      body.size(), body);
  } else {
    out = std::move(body);
  }
  std::error_code ec;
  if (tls) co_await tls->write_all(sock, {reinterpret_cast<const std::uint8_t*>(out.data()), out.size()}, ec);
  else co_await asio::async_write(sock, asio::buffer(out), net::nothrow);
  rec.bytes_out = out.size();
  rec.end = "closed";
  co_await net::close_after_reply(sock, tls);
}

}  // namespace snigate::session
