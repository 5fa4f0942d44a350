// The relay experiment of issue 25: one byte-relay mechanism at a time,
// without snigate's routing around it, so that splice and a BPF sockmap can be
// compared on the same loads (bench/loadgen stream and rate).
//
//   relay_probe serve --listen PORT --backend PORT --relay splice|sockmap [--bpf OBJ]
//   relay_probe join-cost --count N --bpf OBJ
//   relay_probe echo --listen PORT
//   relay_probe pingpong --connect PORT [--count N] [--size BYTES]
//
// serve: a thread per connection. Each reads the client's first bytes, dials
// the backend on 127.0.0.1, sends them on, then relays the rest with splice
// through a 1 MiB pipe each way (as snigate does), or by joining the two
// sockets in a sockmap whose verdict program sends each socket's incoming
// bytes out of the other; the thread then only waits for an end.
// join-cost: the time to join and leave, per connection, on loopback pairs.
// echo and pingpong: round trips of one small message on one connection,
// through a relay to an echo server, for the latency each relay adds.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

int g_map = -1;
int g_backend_port = 0;
bool g_sockmap = false;

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
  if (listen(fd, 4096) != 0) die("listen");
  return fd;
}

int dial(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a = loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::uint64_t cookie(int fd) {
  std::uint64_t c = 0;
  socklen_t n = sizeof c;
  if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &n) != 0) die("SO_COOKIE");
  return c;
}

// Each socket is stored under its peer's cookie: the verdict program looks
// up the cookie of the socket the bytes came in on and gets the other one.
bool join(int a, int b) {
  std::uint64_t ka = cookie(a), kb = cookie(b);
  std::uint64_t va = static_cast<std::uint64_t>(a), vb = static_cast<std::uint64_t>(b);
  if (bpf_map_update_elem(g_map, &ka, &vb, BPF_ANY) != 0 ||
      bpf_map_update_elem(g_map, &kb, &va, BPF_ANY) != 0)
    return false;
  // Bytes that came in before the join wait in the receive queue, and the
  // verdict program sees them only when more arrive; a full window or a
  // peer waiting for an answer means none will. Setting SO_RCVLOWAT makes
  // TCP signal readable data now, which runs the verdict over the queue.
  int one = 1;
  if (const char* sb = std::getenv("PROBE_SNDBUF")) {
    int v = std::atoi(sb);
    setsockopt(a, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    setsockopt(b, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  }
  return setsockopt(a, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one) == 0 &&
         setsockopt(b, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one) == 0;
}

void splice_one_way(int from, int to) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return;
  fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  for (;;) {
    ssize_t n = splice(from, nullptr, p[1], nullptr, 1 << 20, SPLICE_F_MOVE);
    if (n <= 0) break;
    while (n > 0) {
      ssize_t m = splice(p[0], nullptr, to, nullptr, n, SPLICE_F_MOVE);
      if (m <= 0) goto out;
      n -= m;
    }
  }
out:
  shutdown(to, SHUT_WR);
  close(p[0]);
  close(p[1]);
}

void serve_one(int client) {
  char hello[16384];
  ssize_t n = recv(client, hello, sizeof hello, 0);
  int backend = n > 0 ? dial(g_backend_port) : -1;
  if (backend < 0 || send(backend, hello, n, MSG_NOSIGNAL) != n) {
    close(client);
    if (backend >= 0) close(backend);
    return;
  }
  if (!g_sockmap) {
    std::thread up(splice_one_way, client, backend);
    splice_one_way(backend, client);
    up.join();
  } else {
    if (!join(client, backend)) die("bpf_map_update_elem");
    // Bytes redirected to a socket leave from a kernel worker; the ends are
    // all that reach this thread.
    pollfd p[2] = {{client, POLLRDHUP, 0}, {backend, POLLRDHUP, 0}};
    poll(p, 2, -1);
  }
  close(client);
  close(backend);
}

int serve(int port) {
  int l = listen_on(port);
  for (;;) {
    int c = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::thread(serve_one, c).detach();
  }
}

// Joins and leaves on connected loopback pairs: the cost a connection pays
// to be relayed by the kernel, apart from any byte.
int join_cost(int count) {
  int l = listen_on(0);
  sockaddr_in a{};
  socklen_t al = sizeof a;
  getsockname(l, reinterpret_cast<sockaddr*>(&a), &al);
  int port = ntohs(a.sin_port);
  std::vector<int> fds;
  for (int i = 0; i < count; ++i) {
    int c = dial(port);
    int s = accept(l, nullptr, nullptr);
    if (c < 0 || s < 0) die("pair");
    fds.push_back(c);
    fds.push_back(s);
  }
  auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < fds.size(); i += 2)
    if (!join(fds[i], fds[i + 1])) die("join");
  auto t1 = std::chrono::steady_clock::now();
  for (int fd : fds) close(fd);
  auto t2 = std::chrono::steady_clock::now();
  auto us = [&](auto d) { return std::chrono::duration<double, std::micro>(d).count() / count; };
  std::printf("join_us_per_conn=%.2f close_us_per_conn_joined=%.2f\n", us(t1 - t0), us(t2 - t1));
  // The same closes without a join, for the difference.
  fds.clear();
  for (int i = 0; i < count; ++i) {
    int c = dial(port);
    int s = accept(l, nullptr, nullptr);
    fds.push_back(c);
    fds.push_back(s);
  }
  auto t3 = std::chrono::steady_clock::now();
  for (int fd : fds) close(fd);
  auto t4 = std::chrono::steady_clock::now();
  std::printf("close_us_per_conn_plain=%.2f\n", us(t4 - t3));
  return 0;
}

void echo_one(int fd) {
  char buf[65536];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0 || send(fd, buf, n, MSG_NOSIGNAL) != n) break;
  }
  close(fd);
}

int echo(int port) {
  int l = listen_on(port);
  for (;;) {
    int c = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::thread(echo_one, c).detach();
  }
}

int pingpong(int port, int count, int size) {
  int fd = dial(port);
  if (fd < 0) die("connect");
  std::vector<char> buf(size, 'x');
  std::vector<double> rtt;
  for (int i = 0; i < count + 1000; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (send(fd, buf.data(), size, 0) != size) die("send");
    for (int got = 0; got < size;) {
      ssize_t n = recv(fd, buf.data() + got, size - got, 0);
      if (n <= 0) die("recv");
      got += n;
    }
    auto t1 = std::chrono::steady_clock::now();
    if (i >= 1000) rtt.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(rtt.begin(), rtt.end());
  std::printf("rtt_p50_us=%.1f rtt_p99_us=%.1f\n", rtt[rtt.size() / 2], rtt[rtt.size() * 99 / 100]);
  close(fd);
  return 0;
}

void load_bpf(const std::string& path) {
  bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
  if (!obj || bpf_object__load(obj) != 0) die("loading the BPF object");
  g_map = bpf_object__find_map_fd_by_name(obj, "peers");
  bpf_program* prog = bpf_object__find_program_by_name(obj, "relay_verdict");
  if (g_map < 0 || !prog) die("BPF object without peers/relay_verdict");
  if (bpf_prog_attach(bpf_program__fd(prog), g_map, BPF_SK_SKB_STREAM_VERDICT, 0) != 0)
    die("attaching the verdict program");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: relay_probe serve|join-cost --key value ...\n");
    return 2;
  }
  std::string mode = argv[1], relay = "splice", bpf_path;
  int listen_port = 0, count = 10000, size = 64, connect_port = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--listen") listen_port = std::atoi(v.c_str());
    else if (k == "--backend") g_backend_port = std::atoi(v.c_str());
    else if (k == "--relay") relay = v;
    else if (k == "--bpf") bpf_path = v;
    else if (k == "--count") count = std::atoi(v.c_str());
    else if (k == "--size") size = std::atoi(v.c_str());
    else if (k == "--connect") connect_port = std::atoi(v.c_str());
  }
  if (mode == "echo") return echo(listen_port);
  if (mode == "pingpong") return pingpong(connect_port, count, size);
  if (mode == "join-cost" || relay == "sockmap") load_bpf(bpf_path);
  if (mode == "join-cost") return join_cost(count);
  g_sockmap = relay == "sockmap";
  return serve(listen_port);
}
