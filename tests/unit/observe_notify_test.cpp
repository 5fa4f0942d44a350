// observe/notify: the datagrams a service manager receives, read from a socket
// the test binds and names in NOTIFY_SOCKET, as systemd does.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <ctime>
#include <string>

#include "observe/notify.hpp"

namespace snigate::observe::notify {
namespace {

class ObserveNotify : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    // Abstract: nothing left on disk, and a name of its own for each run.
    const std::string name = "snigate-notify-test-" + std::to_string(::getpid());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    name.copy(addr.sun_path + 1, sizeof(addr.sun_path) - 2);
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    ASSERT_EQ(::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len), 0);
    timeval timeout{5, 0};  // a message that never comes fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setenv("NOTIFY_SOCKET", ("@" + name).c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    if (fd_ >= 0) ::close(fd_);
  }
  std::string next() {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "(nothing received)";
  }
  int fd_ = -1;
};

TEST_F(ObserveNotify, ReadyAndStoppingCarryAStatusLine) {
  ready("serving config generation 1, 3 router(s)");
  EXPECT_EQ(next(), "READY=1\nSTATUS=serving config generation 1, 3 router(s)");
  stopping("SIGTERM: draining");
  EXPECT_EQ(next(), "STOPPING=1\nSTATUS=SIGTERM: draining");
}

// A newline in the text would start an assignment of its own (say READY=1).
TEST_F(ObserveNotify, StatusIsOneLine) {
  status("reload failed\nREADY=1\r");
  EXPECT_EQ(next(), "STATUS=reload failed READY=1 ");
}

TEST_F(ObserveNotify, ReloadSaysReloadingWithTheMonotonicClockThenReady) {
  timespec before{};
  clock_gettime(CLOCK_MONOTONIC, &before);
  {
    const Reload reload;
    const std::string msg = next();
    ASSERT_EQ(msg.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << msg;
    const auto usec = std::stoull(msg.substr(msg.find("MONOTONIC_USEC=") + 15));
    const auto before_usec = static_cast<unsigned long long>(before.tv_sec) * 1000000ull +
                             static_cast<unsigned long long>(before.tv_nsec) / 1000ull;
    EXPECT_GE(usec, before_usec);
    EXPECT_LT(usec - before_usec, 5000000ull);
  }
  EXPECT_EQ(next(), "READY=1");
}

}  // namespace
}  // namespace snigate::observe::notify
