// snigate benchmark load generator and backend.
//
//   loadgen serve  --rate-port P --sink-port Q [--source-port R]
//       backend: on the rate port, read one TLS-record-framed message (a
//       ClientHello, or the same bytes sent as application data through a
//       terminating proxy), answer RESPONSE and close; on the sink port, read
//       and discard until EOF; on the source port (19004), write as fast as
//       the peer reads until it goes away, ignoring what it sends.
//   loadgen rate   --connect HOST:PORT --sni NAME [--conc 64] [--time 5] [--tls]
//       connections/s: connect, send a real ClientHello with SNI, read the
//       answer until EOF, close; latency p50/p99 from connect() to EOF.
//       --tls: a full TLS handshake instead (no resumption), then the hello
//       bytes as application data.
//   loadgen stream --connect HOST:PORT --sni NAME [--streams 1] [--time 5] [--tls] [--download]
//       after the ClientHello (or handshake), write as fast as possible
//       (--download: read); Gbit/s counted after a warm-up.
//   loadgen idle   --connect HOST:PORT --sni NAME --count N [--hold 60]
//       open N connections, send the ClientHello on each and wait; prints
//       "ready" when all are sent, then holds until killed or --hold ends.
//
// Output: one line of key=value pairs for the harness.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr char kResponse[] = "snigate-bench-ok\n";

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "loadgen: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(2);
}

struct Args {
  std::map<std::string, std::string> kv;
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = kv.find(k);
    return it == kv.end() ? def : it->second;
  }
  long num(const std::string& k, long def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : std::stol(it->second);
  }
  double real(const std::string& k, double def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : std::stod(it->second);
  }
  bool flag(const std::string& k) const { return kv.count(k) != 0; }
};

sockaddr_in parse_addr(const std::string& hp) {
  auto colon = hp.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "loadgen: bad address %s\n", hp.c_str());
    std::exit(2);
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(hp.substr(colon + 1))));
  std::string host = hp.substr(0, colon);
  if (host.empty()) host = "127.0.0.1";
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) {
    std::fprintf(stderr, "loadgen: bad IPv4 address %s\n", host.c_str());
    std::exit(2);
  }
  return sa;
}

// A real ClientHello: OpenSSL's client writes it into a memory BIO; we keep the bytes.
std::string make_client_hello(const std::string& sni) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, rbio, wbio);
  SSL_set_tlsext_host_name(ssl, sni.c_str());
  static const unsigned char alpn[] = "\x02h2\x08http/1.1";
  SSL_set_alpn_protos(ssl, alpn, sizeof alpn - 1);
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);  // wants to read: the hello is in wbio
  char* data = nullptr;
  long n = BIO_get_mem_data(wbio, &data);
  std::string hello(data, static_cast<size_t>(n));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  if (hello.size() < 5 || hello[0] != 0x16) {
    std::fprintf(stderr, "loadgen: could not make a ClientHello\n");
    std::exit(2);
  }
  return hello;
}

int tcp_socket(bool nonblock) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

uint32_t percentile(std::vector<uint32_t>& v, double q) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// ---------------------------------------------------------------- serve
struct Conn {
  int fd;
  bool sink;
  bool source;
  uint32_t have = 0;
  uint32_t need = 5;  // TLS record header first, then header + length
  char head[5] = {};
};

int listen_on(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) die("bind " + std::to_string(port));
  if (listen(fd, 4096) < 0) die("listen");
  return fd;
}

int serve(const Args& a) {
  int rate_l = listen_on(static_cast<uint16_t>(a.num("rate-port", 19001)));
  int sink_l = listen_on(static_cast<uint16_t>(a.num("sink-port", 19002)));
  int source_l = listen_on(static_cast<uint16_t>(a.num("source-port", 19004)));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &rate_l;
  epoll_ctl(ep, EPOLL_CTL_ADD, rate_l, &ev);
  ev.data.ptr = &sink_l;
  epoll_ctl(ep, EPOLL_CTL_ADD, sink_l, &ev);
  ev.data.ptr = &source_l;
  epoll_ctl(ep, EPOLL_CTL_ADD, source_l, &ev);
  static char buf[256 * 1024];
  std::vector<epoll_event> evs(512);
  std::fprintf(stdout, "serving\n");
  std::fflush(stdout);
  for (;;) {
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      void* p = evs[static_cast<size_t>(i)].data.ptr;
      if (p == &rate_l || p == &sink_l || p == &source_l) {
        int lfd = *static_cast<int*>(p);
        for (;;) {
          int c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          auto* conn = new Conn{c, p == &sink_l, p == &source_l};
          epoll_event cev{};
          cev.events = conn->source ? EPOLLOUT : EPOLLIN | EPOLLRDHUP;
          cev.data.ptr = conn;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      auto* c = static_cast<Conn*>(p);
      bool done = false;
      if (c->source) {
        for (;;) {
          ssize_t w = ::send(c->fd, buf, sizeof buf, MSG_NOSIGNAL);
          if (w > 0) continue;
          if (w < 0 && (errno == EAGAIN || errno == EINTR)) break;
          done = true;  // the reader went away
          break;
        }
      } else if (c->sink) {
        for (;;) {
          ssize_t r = ::read(c->fd, buf, sizeof buf);
          if (r > 0) continue;
          if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
          done = true;  // EOF or error
          break;
        }
      } else {
        for (;;) {
          size_t want = c->need - c->have;
          ssize_t r = ::read(c->fd, buf, want);
          if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
          if (r <= 0) {
            done = true;
            break;
          }
          if (c->have < 5) std::memcpy(c->head + c->have, buf, std::min<size_t>(static_cast<size_t>(r), 5 - c->have));
          c->have += static_cast<uint32_t>(r);
          if (c->have == 5 && c->need == 5) {
            c->need = 5 + ((static_cast<uint8_t>(c->head[3]) << 8) | static_cast<uint8_t>(c->head[4]));
          }
          if (c->have == c->need) {
            write_all(c->fd, kResponse, sizeof kResponse - 1);
            done = true;  // the server closes first: TIME_WAIT stays here
            break;
          }
        }
      }
      if (done) {
        ::close(c->fd);
        delete c;
      }
    }
  }
}

// ---------------------------------------------------------------- TLS client
struct TlsClient {
  SSL_CTX* ctx;
  explicit TlsClient(const std::string& groups) {
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (!groups.empty() && SSL_CTX_set1_groups_list(ctx, groups.c_str()) != 1) {
      std::fprintf(stderr, "loadgen: bad --groups\n");
      std::exit(2);
    }
  }
  // A blocking connection with a completed full handshake, or nullptr.
  SSL* connect(const sockaddr_in& to, const std::string& sni, int& fd_out) const {
    int fd = tcp_socket(false);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
      ::close(fd);
      return nullptr;
    }
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, sni.c_str());
    if (SSL_connect(ssl) != 1) {
      ERR_clear_error();
      SSL_free(ssl);
      ::close(fd);
      return nullptr;
    }
    fd_out = fd;
    return ssl;
  }
};

// ---------------------------------------------------------------- rate
struct Result {
  uint64_t ok = 0, errors = 0;
  std::vector<uint32_t> lat_us;
};

void print_rate(Result& r, double secs) {
  uint32_t p50 = percentile(r.lat_us, 0.50), p99 = percentile(r.lat_us, 0.99);
  std::printf("rate conns_per_s=%.0f p50_us=%u p99_us=%u ok=%llu errors=%llu\n", static_cast<double>(r.ok) / secs,
              p50, p99, static_cast<unsigned long long>(r.ok), static_cast<unsigned long long>(r.errors));
}

// Plain-hello rate: one epoll thread drives `conc` connections.
void rate_plain_thread(const sockaddr_in to, const std::string& hello, int conc, Clock::time_point end, Result& res) {
  struct C {
    int fd = -1;
    bool sent = false;
    uint32_t got = 0;
    Clock::time_point t0;
  };
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<C> cs(static_cast<size_t>(conc));
  char buf[4096];
  auto start = [&](C& c) {
    c.fd = tcp_socket(true);
    c.sent = false;
    c.got = 0;
    c.t0 = Clock::now();
    int r = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    if (r < 0 && errno != EINPROGRESS) die("connect");
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.ptr = &c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  };
  auto finish = [&](C& c, bool ok) {
    ::close(c.fd);
    auto now = Clock::now();
    if (now < end) {
      if (ok) {
        ++res.ok;
        res.lat_us.push_back(
            static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - c.t0).count()));
      } else {
        ++res.errors;
      }
      start(c);
    } else {
      c.fd = -1;
    }
  };
  for (auto& c : cs) start(c);
  std::vector<epoll_event> evs(static_cast<size_t>(conc));
  int live = conc;
  while (live > 0) {
    if (Clock::now() >= end) break;
    int n = epoll_wait(ep, evs.data(), conc, 100);
    for (int i = 0; i < n; ++i) {
      C& c = *static_cast<C*>(evs[static_cast<size_t>(i)].data.ptr);
      if (!c.sent) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || ::send(c.fd, hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size())) {
          finish(c, false);
          continue;
        }
        c.sent = true;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = &c;
        epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        continue;
      }
      for (;;) {
        ssize_t r = ::read(c.fd, buf, sizeof buf);
        if (r > 0) {
          c.got += static_cast<uint32_t>(r);
          continue;
        }
        if (r < 0 && errno == EAGAIN) break;
        finish(c, r == 0 && c.got == sizeof kResponse - 1);
        break;
      }
    }
  }
  for (auto& c : cs)
    if (c.fd >= 0) ::close(c.fd);
  ::close(ep);
}

// TLS rate: full handshake, hello bytes as application data, read answer to EOF.
void rate_tls_thread(const sockaddr_in to, const std::string& sni, const std::string& hello, const TlsClient& tc,
                     Clock::time_point end, Result& res) {
  char buf[4096];
  while (Clock::now() < end) {
    auto t0 = Clock::now();
    int fd = -1;
    SSL* ssl = tc.connect(to, sni, fd);
    bool ok = false;
    if (ssl) {
      if (SSL_write(ssl, hello.data(), static_cast<int>(hello.size())) == static_cast<int>(hello.size())) {
        size_t got = 0;
        for (;;) {
          int r = SSL_read(ssl, buf, sizeof buf);
          if (r <= 0) break;
          got += static_cast<size_t>(r);
        }
        ok = got == sizeof kResponse - 1;
      }
      ERR_clear_error();
      SSL_free(ssl);
      ::close(fd);
    }
    auto now = Clock::now();
    if (now >= end) break;
    if (ok) {
      ++res.ok;
      res.lat_us.push_back(static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - t0).count()));
    } else {
      ++res.errors;
      if (!ssl) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

int rate(const Args& a) {
  auto to = parse_addr(a.get("connect"));
  std::string sni = a.get("sni", "rate.bench.test");
  std::string hello = make_client_hello(sni);
  double secs = a.real("time", 5);
  bool tls = a.flag("tls");
  int conc = static_cast<int>(a.num("conc", tls ? 16 : 64));
  int threads = tls ? conc : static_cast<int>(a.num("threads", 1));
  TlsClient tc(a.get("groups", ""));
  auto end = Clock::now() + std::chrono::microseconds(static_cast<long>(secs * 1e6));
  std::vector<Result> rs(static_cast<size_t>(threads));
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    if (tls)
      ts.emplace_back(rate_tls_thread, to, sni, std::cref(hello), std::cref(tc), end, std::ref(rs[static_cast<size_t>(t)]));
    else
      ts.emplace_back(rate_plain_thread, to, std::cref(hello), conc / threads + (t < conc % threads ? 1 : 0), end,
                      std::ref(rs[static_cast<size_t>(t)]));
  }
  for (auto& t : ts) t.join();
  Result all;
  for (auto& r : rs) {
    all.ok += r.ok;
    all.errors += r.errors;
    all.lat_us.insert(all.lat_us.end(), r.lat_us.begin(), r.lat_us.end());
  }
  print_rate(all, secs);
  return 0;
}

// ---------------------------------------------------------------- stream
int stream(const Args& a) {
  auto to = parse_addr(a.get("connect"));
  std::string sni = a.get("sni", "stream.bench.test");
  std::string hello = make_client_hello(sni);
  double secs = a.real("time", 5);
  double warm = std::min(1.0, secs / 4);
  int streams = static_cast<int>(a.num("streams", 1));
  bool tls = a.flag("tls");
  bool download = a.flag("download");
  size_t chunk = static_cast<size_t>(a.num("chunk", tls && !download ? 16384 : 131072));
  TlsClient tc(a.get("groups", ""));
  auto t_start = Clock::now();
  auto t_warm = t_start + std::chrono::microseconds(static_cast<long>(warm * 1e6));
  auto t_end = t_start + std::chrono::microseconds(static_cast<long>(secs * 1e6));
  std::atomic<uint64_t> counted{0};
  std::atomic<uint64_t> total{0};  // warm-up included: what the proxy's CPU time was spent on
  std::atomic<int> failed{0};
  std::vector<std::thread> ts;
  for (int s = 0; s < streams; ++s) {
    ts.emplace_back([&] {
      std::vector<char> data(chunk, 'x');
      int fd = -1;
      SSL* ssl = nullptr;
      if (tls) {
        ssl = tc.connect(to, sni, fd);
        if (!ssl || SSL_write(ssl, hello.data(), static_cast<int>(hello.size())) <= 0) {
          ++failed;
          return;
        }
      } else {
        fd = tcp_socket(false);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0 ||
            !write_all(fd, hello.data(), hello.size())) {
          ++failed;
          ::close(fd);
          return;
        }
      }
      if (download) {  // a stalled proxy fails the stream instead of hanging the run
        timeval tv{5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      }
      uint64_t mine = 0, all = 0;
      for (;;) {
        auto now = Clock::now();
        if (now >= t_end) break;
        ssize_t w = download ? (tls ? SSL_read(ssl, data.data(), static_cast<int>(chunk))
                                    : ::recv(fd, data.data(), chunk, 0))
                             : (tls ? SSL_write(ssl, data.data(), static_cast<int>(chunk))
                                    : ::send(fd, data.data(), chunk, MSG_NOSIGNAL));
        if (w <= 0) {
          ++failed;
          break;
        }
        if (now >= t_warm) mine += static_cast<uint64_t>(w);
        all += static_cast<uint64_t>(w);
      }
      counted += mine;
      total += all;
      if (ssl) SSL_free(ssl);
      if (fd >= 0) ::close(fd);
    });
  }
  for (auto& t : ts) t.join();
  double window = secs - warm;
  std::printf("stream gbit_per_s=%.2f streams=%d failed=%d bytes_total=%llu\n",
              static_cast<double>(counted.load()) * 8 / window / 1e9, streams, failed.load(),
              static_cast<unsigned long long>(total.load()));
  return 0;
}

// ---------------------------------------------------------------- idle
int idle(const Args& a) {
  auto to = parse_addr(a.get("connect"));
  std::string hello = make_client_hello(a.get("sni", "stream.bench.test"));
  int count = static_cast<int>(a.num("count", 1000));
  int inflight_max = static_cast<int>(a.num("inflight", 128));
  double hold = a.real("hold", 60);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<int> fds;
  fds.reserve(static_cast<size_t>(count));
  int started = 0, sent = 0, failed = 0, inflight = 0;
  std::vector<epoll_event> evs(256);
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while ((started < count || inflight > 0) && Clock::now() < deadline) {
    while (started < count && inflight < inflight_max) {
      int fd = tcp_socket(true);
      int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to);
      if (r < 0 && errno != EINPROGRESS) die("connect");
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.fd = fd;
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      ++started;
      ++inflight;
    }
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
    for (int i = 0; i < n; ++i) {
      int fd = evs[static_cast<size_t>(i)].data.fd;
      epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
      --inflight;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0 && ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(hello.size())) {
        ++sent;
        fds.push_back(fd);
      } else {
        ++failed;
        ::close(fd);
      }
    }
  }
  std::printf("idle ready=%d failed=%d\n", sent, failed);
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(hold * 1e6)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: loadgen serve|rate|stream|idle --key value ...\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  Args a;
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) {
      std::fprintf(stderr, "loadgen: unexpected %s\n", k.c_str());
      return 2;
    }
    k = k.substr(2);
    if (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0)
      a.kv[k] = argv[++i];
    else
      a.kv[k] = "1";
  }
  std::string mode = argv[1];
  if (mode == "serve") return serve(a);
  if (mode == "rate") return rate(a);
  if (mode == "stream") return stream(a);
  if (mode == "idle") return idle(a);
  std::fprintf(stderr, "loadgen: unknown mode %s\n", mode.c_str());
  return 2;
}
