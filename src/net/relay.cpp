#include "net/relay.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "net/buffer_pool.hpp"
#include "net/drain_sweep.hpp"
#include "net/pipe_pool.hpp"

namespace snigate::net {
namespace {

constexpr std::uint8_t kCloseNotifyTries = 4;    // a peer that never reads must not hold a direction open
constexpr int kStepsBeforeYield = 64;            // a busy direction lets other connections run now and then,
constexpr std::uint64_t kBytesBeforeYield = 4 * kLargePipe;  // and after this many bytes too
constexpr std::size_t kPlainRead = 16 * 1024;    // a plain read this long: a bulk stream, splice it
constexpr std::size_t kTlsRecord = 16 * 1024;    // a TLS record's largest plaintext
constexpr std::size_t kTlsReadAhead = 4 * (kTlsRecord + 512);  // four records and their overhead
constexpr std::size_t kBulkEnds = 4 * 1024;      // a splice this short: the stream has gone quiet, copy again
constexpr std::uint8_t kEndOfStream = 255;       // RelayFlow::end_read: the read ahead found the FIN
// Bytes moved at once to or from a TLS side: four records' worth, less 1 KiB,
// so that one send stays within one TCP segment on loopback (65,483 bytes of
// payload there). Four full records and their overhead, 65,624 bytes, went
// out as a full segment and a runt of 141 bytes, each a packet to process at
// both ends; plaintext from a TLS source, 65,536 bytes, left a runt of 53.
constexpr std::size_t kTlsBatch = kCopyBuffer - 1024;
constexpr std::size_t kLoopbackSegment = 65483;  // loopback's MSS (MTU 65536, IPv4, TCP timestamps)
constexpr std::size_t kRecordOverhead = 29;      // the most of TLS 1.2 AES-GCM (5 + 8 + 16) and 1.3 (5 + 1 + 16)
static_assert(kTlsBatch + 4 * kRecordOverhead <= kLoopbackSegment, "a batch's records leave in one segment");

}  // namespace

// One direction. Bytes read and not yet written sit in a pipe (splice) or a
// buffer (copy), taken from the thread's pool just before a read is tried and
// given back as soon as they are empty: a direction waiting for its source
// holds neither. A plain direction copies until a read fills kPlainRead, and
// splices until a read is short again: for a short message a recv and a send
// cost less than two splices through a pipe, for a bulk stream splice avoids
// copying every byte twice.
struct RelayFlow {
  enum class Stage : std::uint8_t { moving, closing, done };
  std::uint8_t from = 0;  // index of the source in Relay::legs; the other is the destination
  bool copy = false;      // a TLS side, or no pipe could be had: never splice
  bool bulk = false;      // splicing: since a read filled a buffer, no read was short
  Stage stage = Stage::moving;
  std::uint8_t close_tries = 0;
  std::uint8_t end_read = 0;  // errno of a read made ahead of the send (kEndOfStream: the FIN), not yet acted on
  std::size_t held = 0;    // bytes read, not yet written
  std::size_t offset = 0;  // copy: where the unwritten bytes start in buf
  Pipe pipe;
  BufferPool::Buffer buf;
  std::uint64_t bytes = 0;
  std::uint64_t spliced = 0;
};

// The io_context behind a socket's executor. The relay's own timer uses its
// plain executor: one pointer where the type-erased one takes 56 bytes, in
// the timer and in every wait on it.
static asio::io_context& io_of(const tcp::socket::executor_type& ex) {
  return static_cast<asio::io_context&>(asio::query(ex, asio::execution::context));
}

using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>;

struct Relay {
  Relay(RelayLeg client, RelayLeg server, RelayLimits l, RelayDone d)
      : legs{std::move(client), std::move(server)},
        timer(io_of(legs[0].sock.get_executor()).get_executor()),
        limits(l),
        done(std::move(d)) {}

  ~Relay() {
    if (drain.registered()) DrainSweep::of(timer.get_executor()).remove(drain);
  }

  RelayLeg legs[2];  // client, server
  RelayFlow flows[2];     // client to server, server to client
  Timer timer;       // idleTimeout
  DrainSweep::Slot drain;  // terminationDelay, from the first EOF
  RelayLimits limits;
  RelayDone done;
  Clock::time_point last_activity = Clock::now();
  int eofs = 0;
  bool finished[2] = {false, false};  // [leg]: that side's EOF was read
  int flows_done = 0;
  bool timer_armed = false;
  RelayEnd end = RelayEnd::closed;
  std::string detail;
  std::unique_ptr<UpFilter> filter;      // client to server only; that flow copies then
  const std::uint8_t* filtered = nullptr;  // the filter's output, when not the flow's own buffer
};

namespace {

using Flow = RelayFlow;

// Completion handlers hold the relay: it lives until the last one has run,
// and is freed with them if the io_context goes away first.
using RelayPtr = std::shared_ptr<Relay>;

enum class Io { ok, want_read, want_write, eof, failed };

const char* side_name(int leg) { return leg == 0 ? "client" : "server"; }

// Ends both directions at once: a pending wait on either socket wakes up and
// its next read sees EOF. The first reason recorded wins.
void shut_both(Relay& r, RelayEnd why, std::string what) {
  if (r.end == RelayEnd::closed) {
    r.end = why;
    r.detail = std::move(what);
  }
  ::shutdown(r.legs[0].sock.native_handle(), SHUT_RDWR);
  ::shutdown(r.legs[1].sock.native_handle(), SHUT_RDWR);
}

// Whether the peer on fd has sent its FIN, even if bytes before it are still
// unread: TCP's own state says so.
bool peer_sent_fin(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return false;
  switch (info.tcpi_state) {
    case TCP_CLOSE_WAIT:
    case TCP_LAST_ACK:
    case TCP_CLOSING:
    case TCP_TIME_WAIT:
      return true;
    default:
      return false;
  }
}

// A read error. A peer that resets after the other side finished ended the
// conversation normally: e.g. a PostgreSQL server exits after Terminate with
// the client's TLS close_notify unread, and its kernel answers that with a
// reset; by then the client has sent its FIN, which the relay may not have
// read yet.
void read_failed(Relay& r, int from, std::string what) {
  const int other = 1 - from;
  if (r.finished[other] || peer_sent_fin(r.legs[other].sock.native_handle()))
    shut_both(r, RelayEnd::closed, what + " (after the " + side_name(other) + " had finished)");
  else
    shut_both(r, RelayEnd::reset, std::move(what));
}

Io got(Relay& r, Flow& f, std::size_t n) {
  f.bulk = n >= (f.bulk ? kBulkEnds : kPlainRead);
  f.offset = 0;
  f.bytes += n;
  r.last_activity = Clock::now();
  if (f.from == 0 && r.filter) {
    const std::span<const std::uint8_t> out = r.filter->pass({f.buf.get(), n});
    r.filtered = out.data() == f.buf.get() ? nullptr : out.data();
    n = out.size();
    if (n == 0) BufferPool::this_thread().give(std::move(f.buf));  // all held back: read on
  }
  f.held = n;
  return Io::ok;
}

// Where a copying flow's unwritten bytes start.
const std::uint8_t* held_at(const Relay& r, const Flow& f) {
  return (f.from == 0 && r.filtered ? r.filtered : f.buf.get()) + f.offset;
}

// A TLS source gives up to a batch (kTlsBatch, just under four records) at
// once: OpenSSL's read-ahead took them with one recv, and the destination
// gets them with one send (a bulk stream costs a quarter of the syscalls).
// OpenSSL's read buffer grows to four records only once a full record shows
// the stream is bulk: OpenSSL allocates it for each read and releases it when
// empty, and a connection of short messages (a handshake, a query) has no use
// for 66 KB each time.
// An end or failure met after some records is left for the next read, which
// meets it again: TlsStream keeps a failure with its first reason.
Io read_tls(Relay& r, Flow& f, TlsStream& tls) {
  std::size_t n = 0;
  int res = 1;
  do {
    ERR_clear_error();
    std::size_t more = 0;
    res = SSL_read_ex(tls.ssl(), f.buf.get() + n, kTlsBatch - n, &more);
    n += more;
  } while (res == 1 && n < kTlsBatch && SSL_has_pending(tls.ssl()));
  if (n >= kTlsRecord) SSL_set_default_read_buffer_len(tls.ssl(), kTlsReadAhead);
  if (n > 0) {
    if (res != 1) tls.want(res);
    return got(r, f, n);
  }
  BufferPool::this_thread().give(std::move(f.buf));
  switch (tls.want(res)) {
    case TlsStream::Want::read: return Io::want_read;
    case TlsStream::Want::write: return Io::want_write;
    case TlsStream::Want::eof: return Io::eof;
    case TlsStream::Want::failed: break;
  }
  read_failed(r, f.from, std::string(side_name(f.from)) + " read: " + tls.error());
  return Io::failed;
}

// After a short read towards a plain socket, a second read before the send.
// When it finds the FIN (a server that answers and closes), the answer is sent
// with MSG_MORE and the half-close that follows puts the FIN on the same
// segment: one packet fewer to send, deliver and acknowledge. Otherwise it
// is the read that says EAGAIN, which came after the send before; the end
// or error it meets is kept for the next read_some.
std::size_t read_ahead(Flow& f, int in, std::size_t at, std::size_t room) {
  const ssize_t m = ::recv(in, f.buf.get() + at, room - at, 0);
  if (m > 0) return static_cast<std::size_t>(m);
  const int err = errno;
  if (m == 0 || err == ESHUTDOWN) f.end_read = kEndOfStream;
  else if (err != EAGAIN && err != EINTR) f.end_read = static_cast<std::uint8_t>(err);
  return 0;
}

Io read_some(Relay& r, Flow& f) {
  RelayLeg& from = r.legs[f.from];
  const int in = from.sock.native_handle();
  if (f.end_read == kEndOfStream) return Io::eof;
  if (f.end_read != 0) {
    read_failed(r, f.from, std::string(side_name(f.from)) + " read: " + std::strerror(f.end_read));
    return Io::failed;
  }
  if (!f.copy && f.bulk) {
    PipePool& pool = PipePool::this_thread();
    f.pipe = pool.take();
    if (f.pipe) {
      const ssize_t n = ::splice(in, nullptr, f.pipe.write_fd, nullptr, kLargePipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        f.spliced += static_cast<std::size_t>(n);
        return got(r, f, static_cast<std::size_t>(n));
      }
      const int err = errno;
      pool.give(f.pipe);
      f.pipe = {};
      if (n == 0) return Io::eof;
      if (err == EAGAIN) return Io::want_read;
      if (err == EINTR) return Io::ok;
      read_failed(r, f.from, std::string(side_name(f.from)) + " read: " + std::strerror(err));
      return Io::failed;
    }
    f.copy = true;  // out of descriptors: copying still works
  }
  BufferPool& pool = BufferPool::this_thread();
  f.buf = pool.take();
  if (from.tls) return read_tls(r, f, *from.tls);
  // Towards TLS a batch, which SSL_write_ex turns into up to four records in
  // one call; towards a plain socket 16 KiB, a full read of which is the
  // switch to splice.
  const bool to_tls = r.legs[1 - f.from].tls != nullptr;
  const std::size_t room = to_tls ? kTlsBatch : kPlainRead;
  const ssize_t n = ::recv(in, f.buf.get(), room, 0);
  if (n > 0) {
    const auto have = static_cast<std::size_t>(n);
    const bool filtered = f.from == 0 && r.filter;
    return got(r, f, have < room && !to_tls && !filtered ? have + read_ahead(f, in, have, room) : have);
  }
  const int err = errno;
  pool.give(std::move(f.buf));
  if (n == 0 || err == ESHUTDOWN) return Io::eof;
  if (err == EAGAIN) return Io::want_read;
  if (err == EINTR) return Io::ok;
  read_failed(r, f.from, std::string(side_name(f.from)) + " read: " + std::strerror(err));
  return Io::failed;
}

// A write failed: the connection is reset, and what was held is lost with it.
Io write_failed(Relay& r, Flow& f, const std::string& why) {
  f.held = 0;
  shut_both(r, RelayEnd::reset, std::string(side_name(1 - f.from)) + " write: " + why);
  return Io::failed;
}

Io write_spliced(Relay& r, Flow& f, int out) {
  const ssize_t m = ::splice(f.pipe.read_fd, nullptr, out, nullptr, f.held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (m > 0) {
    f.held -= static_cast<std::size_t>(m);
    if (f.held == 0) {
      PipePool::this_thread().give(f.pipe);
      f.pipe = {};
    }
    return Io::ok;
  }
  const int err = errno;
  if (m < 0 && err == EAGAIN) return Io::want_write;
  if (m < 0 && err == EINTR) return Io::ok;
  PipePool::close(f.pipe);  // bytes still in it are lost with the connection
  return write_failed(r, f, std::strerror(err));
}

// The records of one SSL_write (up to four) leave with one send. sent: how
// many of the held bytes OpenSSL took.
Io write_tls(Relay& r, Flow& f, TlsStream& tls, std::size_t& sent) {
  switch (tls.send_gathered()) {
    case TlsStream::Sent::all: break;
    case TlsStream::Sent::blocked: return Io::want_write;
    case TlsStream::Sent::failed: return write_failed(r, f, tls.error());
  }
  if (f.held == 0) return Io::ok;  // only sending the records was left
  const int res = tls.write_gathered(held_at(r, f), f.held, sent);
  if (res == 1) return Io::ok;
  switch (tls.want(res)) {
    case TlsStream::Want::read: return Io::want_read;
    case TlsStream::Want::write: return Io::want_write;
    case TlsStream::Want::eof:
    case TlsStream::Want::failed: break;
  }
  return write_failed(r, f, tls.error());
}

Io write_plain(Relay& r, Flow& f, int out, std::size_t& sent) {
  // Only the half-close or close, at once, follows a send made with MSG_MORE.
  const int more = f.end_read == kEndOfStream ? MSG_MORE : 0;
  const ssize_t m = ::send(out, held_at(r, f), f.held, MSG_NOSIGNAL | more);
  if (m >= 0) {
    sent = static_cast<std::size_t>(m);
    return Io::ok;
  }
  const int err = errno;
  if (err == EAGAIN) return Io::want_write;
  if (err == EINTR) return Io::ok;
  return write_failed(r, f, std::strerror(err));
}

Io write_held(Relay& r, Flow& f) {
  RelayLeg& to = r.legs[1 - f.from];
  if (f.pipe) return write_spliced(r, f, to.sock.native_handle());
  std::size_t sent = 0;
  const Io io = to.tls ? write_tls(r, f, *to.tls, sent) : write_plain(r, f, to.sock.native_handle(), sent);
  if (io != Io::ok || sent == 0) return io;
  f.offset += sent;
  f.held -= sent;
  if (f.held == 0) BufferPool::this_thread().give(std::move(f.buf));
  return Io::ok;
}

void run(const RelayPtr& r, int fi);
void arm_timer(const RelayPtr& r);

// Both directions are done: the server side is closed, the owner told, then
// the client side closed (the order the coroutine relay's callers had).
void finish(Relay& r) {
  if (r.timer_armed) r.timer.cancel();
  if (r.drain.registered()) DrainSweep::of(r.timer.get_executor()).remove(r.drain);
  RelayResult result{r.flows[0].bytes, r.flows[1].bytes, r.end, std::move(r.detail),
                     r.flows[0].spliced + r.flows[1].spliced};
  std::error_code ignored;
  r.legs[1].tls.reset();
  r.legs[1].sock.close(ignored);
  RelayDone done = std::move(r.done);
  done(result);
  r.legs[0].tls.reset();
  r.legs[0].sock.close(ignored);
}

void end_flow(Relay& r, Flow& f) {
  if (f.pipe) PipePool::close(f.pipe);
  if (f.buf) BufferPool::this_thread().give(std::move(f.buf));
  f.held = 0;
  f.stage = Flow::Stage::done;
  if (++r.flows_done == 2) finish(r);
}

// Waits for leg to be ready, then runs the flow again.
void wait(const RelayPtr& r, int fi, int leg, tcp::socket::wait_type what) {
  auto on_ready = [r, fi](std::error_code ec) {
    Flow& f = r->flows[fi];
    if (!ec) return run(r, fi);
    // Only a cancelled or closed socket gets here.
    if (f.stage == Flow::Stage::closing) {
      f.close_tries = kCloseNotifyTries;
      return run(r, fi);
    }
    shut_both(*r, RelayEnd::reset, std::string(side_name(f.from)) + ": " + ec.message());
    end_flow(*r, f);
  };
  r->legs[leg].sock.async_wait(what, std::move(on_ready));
}

// Passes the end of stream on: close_notify first when the destination is
// TLS, then a TCP half-close. The other direction keeps flowing.
void close_step(const RelayPtr& r, int fi) {
  Flow& f = r->flows[fi];
  const int to_leg = 1 - f.from;
  RelayLeg& to = r->legs[to_leg];
  while (to.tls && f.close_tries < kCloseNotifyTries) {
    ++f.close_tries;
    ERR_clear_error();
    const int res = SSL_shutdown(to.tls->ssl());
    if (res >= 0) break;
    const TlsStream::Want w = to.tls->want(res);
    if (w == TlsStream::Want::read) return wait(r, fi, to_leg, tcp::socket::wait_read);
    if (w == TlsStream::Want::write) return wait(r, fi, to_leg, tcp::socket::wait_write);
    break;
  }
  // With the other direction done too, the close() that follows sends the
  // FIN (every byte from that side was read, so it is not a reset).
  if (r->flows_done == 0) ::shutdown(to.sock.native_handle(), SHUT_WR);
  end_flow(*r, f);
}

// After the first EOF the other side has terminationDelay to finish. The
// relay is closed on a timer shared by the io_context's relays (DrainSweep):
// nearly always the other side's EOF comes first, and arming a timer of its
// own here would make it the reactor's earliest, at a syscall per connection.
void note_eof(const RelayPtr& r) {
  if (r->eofs++ != 0) return;
  const Duration delay = r->limits.termination_delay;
  if (delay.count() == 0) return shut_both(*r, RelayEnd::termination_delay, "");
  if (delay.count() < 0) return;
  DrainSweep::of(r->timer.get_executor()).add(r->drain, Clock::now() + delay, [](void* owner) {
    Relay& relay = *static_cast<Relay*>(owner);
    if (relay.eofs == 1) shut_both(relay, RelayEnd::termination_delay, "");
  }, r.get());
}

// Moves bytes until the source or the destination would block, then waits
// for that socket's next edge.
void run(const RelayPtr& r, int fi) {
  Flow& f = r->flows[fi];
  const std::uint64_t bytes_before = f.bytes;
  for (int steps = 0;; ++steps) {
    if (f.stage == Flow::Stage::closing) return close_step(r, fi);
    if (steps == kStepsBeforeYield || f.bytes - bytes_before >= kBytesBeforeYield) {
      asio::post(r->timer.get_executor(), [r, fi] { run(r, fi); });
      return;
    }
    const RelayLeg& to = r->legs[1 - f.from];
    const bool writing = f.held > 0 || (to.tls && to.tls->has_gathered());
    const int leg = writing ? 1 - f.from : f.from;
    switch (writing ? write_held(*r, f) : read_some(*r, f)) {
      case Io::ok: continue;
      case Io::want_read: return wait(r, fi, leg, tcp::socket::wait_read);
      case Io::want_write: return wait(r, fi, leg, tcp::socket::wait_write);
      case Io::eof:
        r->finished[f.from] = true;
        note_eof(r);
        f.stage = Flow::Stage::closing;
        continue;
      case Io::failed: return end_flow(*r, f);
    }
  }
}

// No byte for the idle timeout: shut both sockets, which ends both
// directions. Activity does not touch the timer; it checks last_activity when
// it fires and sleeps again if there was some. Without an idle limit no timer
// runs.
void arm_timer(const RelayPtr& r) {
  if (r->limits.idle.count() <= 0) return;
  const auto deadline = r->last_activity + r->limits.idle;
  if (Clock::now() >= deadline) return shut_both(*r, RelayEnd::idle_timeout, "");
  r->timer.expires_at(deadline);
  r->timer_armed = true;
  r->timer.async_wait([r](std::error_code) {
    r->timer_armed = false;
    if (r->flows_done < 2) arm_timer(r);
  });
}

}  // namespace

bool RelayWatch::progress(std::uint64_t& up, std::uint64_t& down) const {
  const std::shared_ptr<const Relay> r = relay_.lock();
  if (!r) return false;
  up = r->flows[0].bytes;
  down = r->flows[1].bytes;
  return true;
}

void start_relay(RelayLeg client, RelayLeg server, RelayLimits limits, RelayDone done,
                 std::unique_ptr<UpFilter> up_filter, RelayWatch* watch) {
  auto r = std::make_shared<Relay>(std::move(client), std::move(server), limits, std::move(done));
  if (watch) *watch = RelayWatch(r);
  const bool copy = r->legs[0].tls || r->legs[1].tls;
  for (std::uint8_t i = 0; i < 2; ++i) {
    r->flows[i].from = i;
    r->flows[i].copy = copy;
  }
  r->filter = std::move(up_filter);
  if (r->filter) r->flows[0].copy = true;  // the filter must see every byte
  // A plain client has just sent what it had (its hello) and now waits for
  // the answer: wait for it at once instead of trying a read that would
  // find nothing (the wait sees bytes or a FIN that came before it). A TLS
  // client may have bytes left in its stream's prefix, which only a read
  // finds.
  if (r->legs[0].tls) run(r, 0);
  else wait(r, 0, 0, tcp::socket::wait_read);
  run(r, 1);
  if (r->flows_done < 2) arm_timer(r);
}

const char* to_string(RelayEnd e) {
  switch (e) {
    case RelayEnd::closed: return "closed";
    case RelayEnd::idle_timeout: return "idle_timeout";
    case RelayEnd::termination_delay: return "termination_delay";
    case RelayEnd::reset: return "reset";
  }
  return "?";
}

}  // namespace snigate::net
