#include "net/tls_stream.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace snigate::net {

struct TlsStream::Bio {
  static TlsStream* stream_of(BIO* b) { return static_cast<TlsStream*>(BIO_get_data(b)); }

  static int read(BIO* b, char* out, int len) {
    BIO_clear_retry_flags(b);
    TlsStream* s = stream_of(b);
    if (s->prefix_used_ < s->prefix_.size()) return static_cast<int>(take_prefix(*s, out, static_cast<std::size_t>(len)));
    const ssize_t n = ::recv(s->fd_, out, static_cast<std::size_t>(len), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
    return static_cast<int>(n);
  }

  static std::size_t take_prefix(TlsStream& s, char* out, std::size_t len) {
    const std::size_t n = std::min(len, s.prefix_.size() - s.prefix_used_);
    std::memcpy(out, s.prefix_.data() + s.prefix_used_, n);
    s.prefix_used_ += n;
    if (s.prefix_used_ == s.prefix_.size()) {
      std::vector<std::uint8_t>().swap(s.prefix_);  // no idle memory
      s.prefix_used_ = 0;
    }
    return n;
  }

  static int write(BIO* b, const char* in, int len) {
    BIO_clear_retry_flags(b);
    TlsStream* s = stream_of(b);
    if (s->gathering_) {
      // As bytes, not chars: an insert across the two types copies byte by byte.
      const auto* bytes = reinterpret_cast<const std::uint8_t*>(in);
      s->gathered_.insert(s->gathered_.end(), bytes, bytes + len);
      return len;
    }
    // Records gathered earlier go first; a write that cannot follow them yet
    // is told to retry, as if the socket were full.
    if (s->has_gathered()) {
      const Sent sent = s->send_gathered();
      if (sent == Sent::blocked) BIO_set_retry_write(b);
      if (sent != Sent::all) return -1;  // failed: errno says why
    }
    const ssize_t n = ::send(s->fd_, in, static_cast<std::size_t>(len), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
    return static_cast<int>(n);
  }

  static long ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

  static BIO_METHOD* method() {
    static BIO_METHOD* m = [] {
      BIO_METHOD* mm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "snigate socket");
      BIO_meth_set_read(mm, read);
      BIO_meth_set_write(mm, write);
      BIO_meth_set_ctrl(mm, ctrl);
      BIO_meth_set_create(mm, [](BIO* b) { BIO_set_init(b, 1); return 1; });
      return mm;
    }();
    return m;
  }
};

namespace {

std::string describe(int ssl_error) {
  std::string queue = tls::take_errors();
  if (!queue.empty()) return queue;
  if (ssl_error == SSL_ERROR_SYSCALL) return errno ? std::strerror(errno) : "connection closed by peer";
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return "peer sent close_notify";
  return "TLS error " + std::to_string(ssl_error);
}

}  // namespace

TlsStream::TlsStream(tcp::socket& sock, tls::SslPtr ssl, std::vector<std::uint8_t> prefix)
    : fd_(sock.native_handle()), ssl_(std::move(ssl)), prefix_(std::move(prefix)) {
  BIO* bio = BIO_new(Bio::method());
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_.get(), bio, bio);
}

int TlsStream::write_gathered(const std::uint8_t* data, std::size_t len, std::size_t& written) {
  // Room for all the records at once, not grown record by record.
  constexpr std::size_t kRecord = 16 * 1024;   // a record's largest plaintext
  constexpr std::size_t kOverhead = 256;       // its header, IV, tag or MAC and padding, at most
  gathered_.reserve(gathered_.size() + len + (len / kRecord + 1) * kOverhead);
  ERR_clear_error();
  gathering_ = true;
  const int res = SSL_write_ex(ssl_.get(), data, len, &written);
  gathering_ = false;
  return res;
}

TlsStream::Sent TlsStream::send_gathered() {
  Sent result = Sent::all;
  while (has_gathered()) {
    const ssize_t n = ::send(fd_, gathered_.data() + gathered_sent_, gathered_.size() - gathered_sent_, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Sent::blocked;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error_ = std::strerror(errno);
      result = Sent::failed;
      break;
    }
    gathered_sent_ += static_cast<std::size_t>(n);
  }
  std::vector<std::uint8_t>().swap(gathered_);  // sent (or lost with the connection): no idle memory
  gathered_sent_ = 0;
  return result;
}

TlsStream::Want TlsStream::want(int r) {
  if (failed_) return Want::failed;
  const int e = SSL_get_error(ssl_.get(), r);
  if (e == SSL_ERROR_WANT_READ) return Want::read;
  if (e == SSL_ERROR_WANT_WRITE) return Want::write;
  if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && r == 0 && ERR_peek_error() == 0)) {
    error_ = "connection closed";
    return Want::eof;
  }
  error_ = describe(e);
  failed_ = true;
  return Want::failed;
}

awaitable<bool> TlsStream::wait_for(tcp::socket& sock, int r, std::error_code& ec) {
  switch (const Want w = want(r)) {
    case Want::read:
    case Want::write: {
      const auto what = w == Want::write ? tcp::socket::wait_write : tcp::socket::wait_read;
      auto [wec] = co_await sock.async_wait(what, nothrow);
      ec = wec;
      co_return !wec;
    }
    case Want::eof:
      ec = asio::error::eof;
      co_return false;
    case Want::failed:
      break;
  }
  ec = asio::error::fault;
  co_return false;
}

awaitable<bool> TlsStream::handshake(tcp::socket& sock) {
  std::error_code ec;
  for (;;) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_.get());
    if (r == 1) co_return true;
    if (!co_await wait_for(sock, r, ec)) {
      if (ec == asio::error::eof) error_ = "connection closed during the TLS handshake";
      else if (ec == asio::error::operation_aborted) error_ = "TLS handshake cancelled";
      co_return false;
    }
  }
}

awaitable<std::size_t> TlsStream::read_some(tcp::socket& sock, std::span<std::uint8_t> buf, std::error_code& ec) {
  for (;;) {
    ERR_clear_error();
    std::size_t n = 0;
    const int r = SSL_read_ex(ssl_.get(), buf.data(), buf.size(), &n);
    if (r == 1) co_return n;
    if (!co_await wait_for(sock, r, ec)) co_return 0;
  }
}

awaitable<void> TlsStream::write_all(tcp::socket& sock, std::span<const std::uint8_t> buf, std::error_code& ec) {
  while (!buf.empty()) {
    ERR_clear_error();
    std::size_t n = 0;
    const int r = SSL_write_ex(ssl_.get(), buf.data(), buf.size(), &n);
    if (r == 1) {
      buf = buf.subspan(n);
      continue;
    }
    if (!co_await wait_for(sock, r, ec)) co_return;
  }
}

awaitable<void> TlsStream::shutdown_write(tcp::socket& sock) {
  std::error_code ec;
  for (int i = 0; i < 4; ++i) {  // bounded: a peer that never reads must not keep us here
    ERR_clear_error();
    const int r = SSL_shutdown(ssl_.get());
    if (r >= 0) break;
    if (!co_await wait_for(sock, r, ec)) break;
  }
  ::shutdown(fd_, SHUT_WR);
}

}  // namespace snigate::net
