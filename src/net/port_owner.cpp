#include "net/port_owner.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

namespace snigate::net {
namespace {

namespace fs = std::filesystem;

// Socket inodes of listeners on `port` from /proc/net/tcp{,6}: columns are
// "sl local_address rem_address st ... inode", the port in hex after ':',
// state 0A for LISTEN.
std::set<std::string> listening_inodes(std::uint16_t port) {
  std::set<std::string> inodes;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, state, skip, inode;
      f >> sl >> local >> remote >> state;
      for (int i = 0; i < 5; ++i) f >> skip;  // tx:rx, tr:when, retrnsmt, uid, timeout
      f >> inode;
      const auto colon = local.rfind(':');
      if (!f || state != "0A" || colon == std::string::npos) continue;
      if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) inodes.insert(inode);
    }
  }
  return inodes;
}

}  // namespace

std::string port_owner(std::uint16_t port) try {
  const std::set<std::string> inodes = listening_inodes(port);
  if (inodes.empty()) return {};
  std::set<std::string> owners;
  std::error_code ec;
  for (const auto& proc : fs::directory_iterator("/proc", ec)) {
    const std::string pid = proc.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    for (const auto& fd : fs::directory_iterator(proc.path() / "fd", ec)) {
      const std::string target = fs::read_symlink(fd.path(), ec).string();
      // "socket:[12345]"
      if (target.size() < 10 || target.compare(0, 8, "socket:[") != 0) continue;
      if (!inodes.contains(target.substr(8, target.size() - 9))) continue;
      std::string comm;
      std::getline(std::ifstream(proc.path() / "comm"), comm);
      owners.insert("pid " + pid + " (" + comm + ")");
      break;
    }
    ec.clear();
  }
  std::string out;
  for (const std::string& o : owners) out += (out.empty() ? "" : ", ") + o;
  return out;
} catch (const std::exception&) {
  return {};  // a process that ended while we looked, an unreadable table: no hint
}

}  // namespace snigate::net
