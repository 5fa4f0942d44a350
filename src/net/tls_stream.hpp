#pragma once
// TLS on a non-blocking socket that snigate has already read from: the bytes
// taken while sniffing (a ClientHello, or a protocol's upgrade) are handed to
// OpenSSL first through a small BIO, then it reads the socket directly. One
// object per connection leg; both relay directions may use it in turn.
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "net/asio.hpp"
#include "net/edge_wait.hpp"
#include "tls/openssl.hpp"

namespace snigate::net {

struct TlsStream {
  TlsStream(tcp::socket& sock, tls::SslPtr ssl, std::vector<std::uint8_t> prefix = {});
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // false on failure; error() says why (alert received, verify failure, EOF).
  awaitable<bool> handshake();
  // 0 with ec == asio::error::eof on close_notify or TCP EOF.
  awaitable<std::size_t> read_some(std::span<std::uint8_t> buf, std::error_code& ec);
  awaitable<void> write_all(std::span<const std::uint8_t> buf, std::error_code& ec);
  // Sends close_notify, then half-closes the TCP write side.
  awaitable<void> shutdown_write();

  SSL* ssl() const { return ssl_.get(); }
  int fd() { return sock_->native_handle(); }
  const std::string& error() const { return error_; }

  // The socket moved (the relay takes both connections over): use it there.
  void rebind(tcp::socket& sock) { sock_ = &sock; }

  // What a failed SSL call (result r) needs, for callers that wait on the
  // socket themselves. failed sets error(); eof is close_notify or TCP EOF.
  // Once failed, always failed, with the first reason: OpenSSL's next call
  // would describe the broken session, not what broke it.
  enum class Want : std::uint8_t { read, write, eof, failed };
  Want want(int r);

  // Whether the socket's last recv (wait_read) or send (wait_write) said
  // EAGAIN. A want can also come from OpenSSL asking again for its own
  // reasons; only after the socket's own EAGAIN may a wait skip the re-arm.
  bool said_eagain(tcp::socket::wait_type what) const {
    return what == tcp::socket::wait_write ? write_blocked_ : read_blocked_;
  }

  // Gathering: write_gathered is SSL_write_ex (same result) with the records
  // it makes queued instead of sent one by one; send_gathered() sends them
  // with one send. Until the queue is empty every other write waits (the BIO
  // says retry), so records leave in the order OpenSSL made them.
  int write_gathered(const std::uint8_t* data, std::size_t len, std::size_t& written);
  enum class Sent : std::uint8_t { all, blocked, failed };
  Sent send_gathered();  // failed: error() says why
  bool has_gathered() const { return gathered_sent_ < gathered_.size(); }
  bool gathering_ = false;  // for the BIO: inside write_gathered

  // For the BIO: bytes not yet handed to OpenSSL.
  std::vector<std::uint8_t> prefix_;
  std::size_t prefix_used_ = 0;
  std::vector<std::uint8_t> gathered_;  // released once sent: an idle stream holds none
  std::size_t gathered_sent_ = 0;
  bool read_blocked_ = false;   // the socket's last recv said EAGAIN
  bool write_blocked_ = false;  // the socket's last send said EAGAIN
  bool failed_ = false;         // want() said failed once

 private:
  // Waits for what OpenSSL asked for; false if it was a real failure.
  awaitable<bool> wait_for(int ssl_result, std::error_code& ec);

  tcp::socket* sock_;
  tls::SslPtr ssl_;
  std::string error_;
};

}  // namespace snigate::net
