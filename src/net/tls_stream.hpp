#pragma once
// TLS on a non-blocking socket that snigate has already read from: the bytes
// taken while sniffing (a ClientHello, or a protocol's upgrade) are handed to
// OpenSSL first through a small BIO, then it reads the socket directly. One
// object per connection leg; both relay directions may use it in turn.
//
// The stream does not hold the socket: it reads and writes the socket's
// descriptor, which stays the same when the socket object moves (into the
// relay, say), and the calls that wait are given the socket to wait on.
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "net/asio.hpp"
#include "tls/openssl.hpp"

namespace snigate::net {

struct TlsStream {
  // sock: the connection; the stream keeps its descriptor, not the object.
  TlsStream(tcp::socket& sock, tls::SslPtr ssl, std::vector<std::uint8_t> prefix = {});
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // sock below: the socket the stream was made on (or what it moved to).
  // false on failure; error() says why (alert received, verify failure, EOF).
  awaitable<bool> handshake(tcp::socket& sock);
  // 0 with ec == asio::error::eof on close_notify or TCP EOF.
  awaitable<std::size_t> read_some(tcp::socket& sock, std::span<std::uint8_t> buf, std::error_code& ec);
  awaitable<void> write_all(tcp::socket& sock, std::span<const std::uint8_t> buf, std::error_code& ec);
  // Sends close_notify, then half-closes the TCP write side.
  awaitable<void> shutdown_write(tcp::socket& sock);

  SSL* ssl() const { return ssl_.get(); }
  const std::string& error() const { return error_; }

  // What a failed SSL call (result r) needs, for callers that wait on the
  // socket themselves. failed sets error(); eof is close_notify or TCP EOF.
  // Once failed, always failed, with the first reason: OpenSSL's next call
  // would describe the broken session, not what broke it.
  enum class Want : std::uint8_t { read, write, eof, failed };
  Want want(int r);

  // Gathering: write_gathered is SSL_write_ex (same result) with the records
  // it makes queued instead of sent one by one; send_gathered() sends them
  // with one send. Until the queue is empty every other write waits (the BIO
  // says retry), so records leave in the order OpenSSL made them.
  int write_gathered(const std::uint8_t* data, std::size_t len, std::size_t& written);
  enum class Sent : std::uint8_t { all, blocked, failed };
  Sent send_gathered();  // failed: error() says why
  bool has_gathered() const { return gathered_sent_ < gathered_.size(); }

 private:
  struct Bio;  // OpenSSL's view of the stream: reads the prefix, then the socket
  friend struct Bio;

  // Waits for what OpenSSL asked for; false if it was a real failure.
  awaitable<bool> wait_for(tcp::socket& sock, int ssl_result, std::error_code& ec);

  int fd_;
  tls::SslPtr ssl_;
  std::string error_;
  std::vector<std::uint8_t> prefix_;  // bytes not yet handed to OpenSSL
  std::size_t prefix_used_ = 0;
  std::vector<std::uint8_t> gathered_;  // released once sent: an idle stream holds none
  std::size_t gathered_sent_ = 0;
  bool gathering_ = false;  // inside write_gathered: the BIO queues what it is given
  bool failed_ = false;     // want() said failed once
};

}  // namespace snigate::net
