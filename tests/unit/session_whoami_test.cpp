// session/whoami: the text names the client, and the peer only when a PROXY
// header made them differ.
#include <gtest/gtest.h>

#include "session/whoami.hpp"

namespace snigate::session {
namespace {

TEST(SessionWhoami, PeerOnlyWhenAHeaderNamedAnotherClient) {
  observe::AccessRecord r;
  r.entry_point = "web";
  r.client = "127.0.0.2:40000";
  EXPECT_EQ(whoami_text(r, "").find("peer:"), std::string::npos);
  r.peer = r.client;  // a LOCAL header: the peer is its own client
  EXPECT_EQ(whoami_text(r, "").find("peer:"), std::string::npos);
  r.peer = "127.0.0.1:50000";
  EXPECT_NE(whoami_text(r, "").find("\nclient: 127.0.0.2:40000\npeer: 127.0.0.1:50000\nrouter: "), std::string::npos)
      << whoami_text(r, "");
}

}  // namespace
}  // namespace snigate::session
