// session/mysql_kill_filter and session/mysql_sessions: framing across reads,
// what is rewritten, refused or left alone, and the registry's lifetime.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "session/mysql_kill_filter.hpp"
#include "session/mysql_sessions.hpp"
#include "wire/mysql_kill.hpp"

namespace snigate::session {
namespace {

namespace wm = wire::mysql;
using B = std::vector<std::uint8_t>;

constexpr std::uint64_t kOurs = 0xFFFFFFF0;
constexpr std::uint64_t kElsewhere = 0xFFFFFFF1;

B packet(std::uint8_t seq, const B& payload) { return wm::frame(seq, payload); }

B query(std::string_view text, std::uint8_t seq = 0) {
  B p{wm::COM_QUERY};
  p.insert(p.end(), text.begin(), text.end());
  return packet(seq, p);
}

B cat(std::initializer_list<B> parts) {
  B out;
  for (const B& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A judge that knows kOurs (thread 77 on this server) and kElsewhere (on another).
MysqlKillFilter filter(std::vector<std::uint64_t>* asked = nullptr) {
  return MysqlKillFilter([asked](std::uint64_t id) {
    if (asked) asked->push_back(id);
    KillVerdict v;
    if (id == kOurs) {
      v.kind = KillVerdict::Kind::rewrite;
      v.thread_id = 77;
    } else if (id == kElsewhere) {
      v.kind = KillVerdict::Kind::refuse;
      v.message = "elsewhere";
    }
    return v;
  });
}

// What the server gets when the stream arrives in reads of the given sizes.
B through(MysqlKillFilter& f, const B& stream, std::size_t read) {
  B out;
  for (std::size_t at = 0; at < stream.size(); at += read) {
    const std::size_t n = std::min(read, stream.size() - at);
    const auto got = f.pass(std::span(stream).subspan(at, n));
    out.insert(out.end(), got.begin(), got.end());
  }
  return out;
}

TEST(SessionMysqlKillFilter, RewritesOurIdAndReframes) {
  auto f = filter();
  const B in = cat({query("SELECT 1"), query("kill query 4294967280;"), query("SELECT 2")});
  EXPECT_EQ(through(f, in, in.size()), cat({query("SELECT 1"), query("kill query 77;"), query("SELECT 2")}));
}

TEST(SessionMysqlKillFilter, SameResultWhateverTheReadSizes) {
  const B in = cat({query("SELECT 1"), query("KILL 4294967280"), packet(0, {wm::COM_PROCESS_KILL, 0xf0, 0xff, 0xff, 0xff}),
                    query("SELECT 'x'")});
  const B want = cat({query("SELECT 1"), query("KILL 77"), packet(0, {wm::COM_PROCESS_KILL, 77, 0, 0, 0}),
                      query("SELECT 'x'")});
  for (std::size_t read = 1; read <= in.size(); ++read) {
    auto f = filter();
    EXPECT_EQ(through(f, in, read), want) << "reads of " << read;
  }
}

TEST(SessionMysqlKillFilter, UnchangedStreamIsTheChunkItself) {
  auto f = filter();
  const B in = cat({query("SELECT 1"), query("KILL 5")});  // not snigate's id: forwarded as it is
  const auto got = f.pass(in);
  EXPECT_EQ(got.data(), in.data());
  EXPECT_EQ(got.size(), in.size());
}

TEST(SessionMysqlKillFilter, KillInsideOtherTextIsLeftAlone) {
  std::vector<std::uint64_t> asked;
  auto f = filter(&asked);
  const B in = cat({query("SELECT 1; KILL 4294967280"), query("SELECT 'KILL 4294967280'"),
                    query("KILL 4294967280; KILL 4294967280")});
  EXPECT_EQ(through(f, in, 3), in);
  EXPECT_TRUE(asked.empty());
}

TEST(SessionMysqlKillFilter, OnlyAtCommandBoundaries) {
  std::vector<std::uint64_t> asked;
  auto f = filter(&asked);
  // Seq 1: a packet inside an exchange (e.g. LOAD DATA content) that happens to look like a KILL.
  const B in = cat({query("LOAD DATA LOCAL INFILE 'x' INTO TABLE t"), query("KILL 4294967280", 2)});
  EXPECT_EQ(through(f, in, 5), in);
  EXPECT_TRUE(asked.empty());
}

TEST(SessionMysqlKillFilter, SequenceWrappingToZeroIsNotACommand) {
  std::vector<std::uint64_t> asked;
  auto f = filter(&asked);
  const B in = cat({query("x", 254), query("y", 255), query("KILL 4294967280", 0), query("KILL 4294967280", 0)});
  const B want = cat({query("x", 254), query("y", 255), query("KILL 4294967280", 0), query("KILL 77", 0)});
  EXPECT_EQ(through(f, in, 7), want);
  EXPECT_EQ(asked.size(), 1u);
}

TEST(SessionMysqlKillFilter, ContinuationOfA16MiBPacketIsNotACommand) {
  std::vector<std::uint64_t> asked;
  auto f = filter(&asked);
  B big(wm::kMaxPayload, 'a');
  big[0] = wm::COM_QUERY;
  B in = {0xff, 0xff, 0xff, 0x00};
  in.insert(in.end(), big.begin(), big.end());
  const B tail = query("KILL 4294967280", 0);  // seq 0 only by coincidence: it continues the packet
  in.insert(in.end(), tail.begin(), tail.end());
  const B after = query("KILL 4294967280", 0);
  in.insert(in.end(), after.begin(), after.end());
  const B out = through(f, in, 64 * 1024);
  ASSERT_EQ(out.size(), in.size() - 10 + 2);  // only the last one rewritten: 4294967280 -> 77
  EXPECT_TRUE(std::equal(in.begin(), in.end() - static_cast<std::ptrdiff_t>(after.size()), out.begin()));
  EXPECT_EQ(asked.size(), 1u);
}

TEST(SessionMysqlKillFilter, RefusedKillBecomesTheServersError) {
  auto f = filter();
  const B in = query("KILL QUERY 4294967281");
  const B out = through(f, in, in.size());
  const std::string text(out.begin() + 5, out.end());
  EXPECT_EQ(out[3], 0);  // still the command's first packet
  EXPECT_EQ(text, "SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = 1094, MESSAGE_TEXT = 'elsewhere'");
}

TEST(SessionMysqlKillFilter, RefusalTextIsQuotedSafelyAndBounded) {
  const B cmd = refusal_command(std::string("it's \\ ") + std::string(300, 'x'));
  const std::string text(cmd.begin() + 5, cmd.end());
  EXPECT_NE(text.find("'it?s ? x"), std::string::npos) << text;
  EXPECT_EQ(text.size(), std::string("SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = 1094, MESSAGE_TEXT = ''").size() + 128);
}

TEST(SessionMysqlKillFilter, HoldsAtMostOneShortCommand) {
  auto f = filter();
  const B in = query("KILL 4294967280");
  const auto first = f.pass(std::span(in).first(in.size() - 1));
  EXPECT_TRUE(first.empty());  // held until whole
  const auto rest = f.pass(std::span(in).last(1));
  EXPECT_EQ(B(rest.begin(), rest.end()), query("KILL 77"));
  // A long command is never held: it cannot be a KILL.
  const B longer = query(std::string(wm::kMaxKillPayload, 'x'));
  EXPECT_EQ(f.pass(std::span(longer).first(100)).size(), 100u);
}

TEST(SessionMysqlSessions, FindsWhileHeldAndForgetsAfter) {
  auto& reg = mysql_sessions();
  const std::size_t before = reg.size();
  const std::uint32_t id = next_session_id();
  EXPECT_GE(id, kLastSessionId);
  EXPECT_NE(next_session_id(), id);  // never the same twice
  {
    MysqlSessions::Entry e;
    reg.add(id, {"127.0.0.1:3306", 12, "127.0.0.1:5000", "db"}, e);
    const auto s = reg.find(id);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->thread_id, 12u);
    EXPECT_EQ(s->server, "127.0.0.1:3306");
    EXPECT_FALSE(reg.find(12));
    EXPECT_FALSE(reg.find(std::uint64_t{id} + (1ULL << 32)));  // not truncated to 32 bits
  }
  EXPECT_FALSE(reg.find(id));
  EXPECT_EQ(reg.size(), before);
}

TEST(SessionMysqlSessions, TheKillFilterAsksTheRegistry) {
  auto& reg = mysql_sessions();
  const std::uint32_t here = next_session_id();
  const std::uint32_t there = next_session_id();
  MysqlSessions::Entry a, b;
  reg.add(here, {"127.0.0.1:3306", 12, "127.0.0.1:5000", "db"}, a);
  reg.add(there, {"127.0.0.1:3307", 13, "127.0.0.1:5001", "db2"}, b);
  auto f = make_kill_filter(0, {"127.0.0.1:3306", 99, "127.0.0.1:5002", "db"});
  const B in = cat({query("KILL " + std::to_string(here)), query("KILL " + std::to_string(there)), query("KILL 12")});
  const B out = through(*f, in, in.size());
  const B rewritten = query("KILL 12");  // here's session is thread 12 on this server
  const B refused = refusal_command("");
  ASSERT_GT(out.size(), 2 * rewritten.size() + refused.size());
  EXPECT_TRUE(std::equal(rewritten.begin(), rewritten.end(), out.begin()));
  const std::string middle(out.begin() + static_cast<std::ptrdiff_t>(rewritten.size()),
                           out.end() - static_cast<std::ptrdiff_t>(rewritten.size()));
  EXPECT_NE(middle.find("SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = 1094"), std::string::npos) << middle;
  // 12 is not an id snigate issued: the server's own thread 12 is named, as the client wrote.
  EXPECT_TRUE(std::equal(rewritten.begin(), rewritten.end(), out.end() - static_cast<std::ptrdiff_t>(rewritten.size())));
}

}  // namespace
}  // namespace snigate::session
