// The etcd client's pure half: base64, the range end of a prefix, request
// bodies, decoding answers and watch lines as etcd 3.4's gateway writes them
// (copied from its answers on this machine), error classes, and events applied
// to a KvPairs map.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kv/backoff.hpp"
#include "wire/base64.hpp"
#include "kv/etcd_json.hpp"

namespace snigate::kv {
namespace {

using json = nlohmann::json;
using wire::base64_decode;
using wire::base64_encode;

TEST(KvBase64, KnownVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("traefik/a"), "dHJhZWZpay9h");
  EXPECT_EQ(base64_decode("dHJhZWZpay9h"), "traefik/a");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode(""), "");
}

TEST(KvBase64, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 37) EXPECT_EQ(base64_decode(base64_encode(all.substr(0, n))), all.substr(0, n));
}

TEST(KvBase64, RefusesWhatIsNotBase64) {
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm 9", "Zg==Zg==", "=Zg=", "Z-8=", "####"})
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
}

TEST(KvRangeEnd, IncrementsTheLastByteBelowFF) {
  EXPECT_EQ(prefix_range_end("traefik/"), "traefik0");
  EXPECT_EQ(prefix_range_end("a"), "b");
  EXPECT_EQ(prefix_range_end("a\xff"), "b");
  EXPECT_EQ(prefix_range_end("a\xfe\xff\xff"), "a\xff");
  EXPECT_EQ(prefix_range_end(""), std::string(1, '\0'));
  EXPECT_EQ(prefix_range_end("\xff\xff"), std::string(1, '\0'));
}

TEST(KvEndpoint, AddsAndKeepsSchemes) {
  EXPECT_EQ(endpoint_url("127.0.0.1:2379", false), "http://127.0.0.1:2379");
  EXPECT_EQ(endpoint_url("127.0.0.1:2379", true), "https://127.0.0.1:2379");
  EXPECT_EQ(endpoint_url("https://etcd:2379/", false), "https://etcd:2379");
  EXPECT_EQ(endpoint_url("http://[::1]:2379", false), "http://[::1]:2379");
  EXPECT_EQ(endpoint_url("http://etcd:2379", true), "https://etcd:2379");  // configured TLS is never skipped
}

TEST(KvBodies, RangeAndWatchCoverThePrefix) {
  const json range = json::parse(range_body("traefik/"));
  EXPECT_EQ(range["key"], base64_encode("traefik/"));
  EXPECT_EQ(range["range_end"], base64_encode("traefik0"));
  const json watch = json::parse(watch_create_body("traefik/", 42));
  EXPECT_EQ(watch["create_request"]["key"], base64_encode("traefik/"));
  EXPECT_EQ(watch["create_request"]["range_end"], base64_encode("traefik0"));
  EXPECT_EQ(watch["create_request"]["start_revision"], "42");
}

TEST(KvBodies, TxnHasOneRequestPerOp) {
  const json txn = json::parse(txn_body({{KvOp::Kind::put, "k", "v"},
                                         {KvOp::Kind::remove, "gone", {}},
                                         {KvOp::Kind::remove_prefix, "p/", {}}}));
  ASSERT_EQ(txn["success"].size(), 3u);
  EXPECT_EQ(txn["success"][0]["request_put"]["key"], base64_encode("k"));
  EXPECT_EQ(txn["success"][0]["request_put"]["value"], base64_encode("v"));
  EXPECT_EQ(txn["success"][1]["request_delete_range"]["key"], base64_encode("gone"));
  EXPECT_FALSE(txn["success"][1]["request_delete_range"].contains("range_end"));
  EXPECT_EQ(txn["success"][2]["request_delete_range"]["range_end"], base64_encode("p0"));
}

TEST(KvBodies, AuthenticateEscapesJson) {
  const json auth = json::parse(authenticate_body("root", "p\"w\n"));
  EXPECT_EQ(auth["name"], "root");
  EXPECT_EQ(auth["password"], "p\"w\n");
}

TEST(KvDecode, RangeWithKeysAndRevisionAsString) {
  RangeResult r;
  std::string error;
  ASSERT_TRUE(decode_range(R"({"header":{"cluster_id":"1715426195391287628","revision":"7","raft_term":"2"},)"
                           R"("kvs":[{"key":"dHJhZWZpay9h","create_revision":"2","mod_revision":"2","version":"1","value":"djE="},)"
                           R"({"key":"dHJhZWZpay9i","mod_revision":"3"}],"count":"2"})",
                           r, error))
      << error;
  EXPECT_EQ(r.revision, 7);
  EXPECT_EQ(r.pairs, (config::KvPairs{{"traefik/a", "v1"}, {"traefik/b", ""}}));
}

TEST(KvDecode, EmptyRange) {
  RangeResult r;
  r.pairs["stale"] = "x";
  std::string error;
  ASSERT_TRUE(decode_range(R"({"header":{"revision":"2"}})", r, error));
  EXPECT_TRUE(r.pairs.empty());
  EXPECT_EQ(r.revision, 2);
}

TEST(KvDecode, RangeRefusals) {
  RangeResult r;
  for (const char* bad : {"", "[]", "{}", R"({"header":{"revision":"x"}})", R"({"header":{"revision":"2"},"kvs":{}})",
                          R"({"header":{"revision":"2"},"kvs":[{"key":"###"}]})"}) {
    std::string error;
    EXPECT_FALSE(decode_range(bad, r, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(KvDecode, Token) {
  std::string token, error;
  EXPECT_TRUE(decode_token(R"({"header":{"revision":"3"},"token":"PoEKkTRYcObKyzIg.13"})", token, error));
  EXPECT_EQ(token, "PoEKkTRYcObKyzIg.13");
  EXPECT_FALSE(decode_token(R"({"header":{}})", token, error));
  EXPECT_FALSE(error.empty());
}

TEST(KvDecode, ErrorAnswers) {
  const std::string body = R"({"error":"etcdserver: invalid auth token","message":"etcdserver: invalid auth token","code":16})";
  EXPECT_EQ(error_message(body), "etcdserver: invalid auth token");
  EXPECT_EQ(error_message("not json"), "");
}

TEST(KvClassify, ErrorsEtcdSends) {
  EXPECT_EQ(classify_error("etcdserver: invalid auth token"), ErrorKind::auth_rejected);
  EXPECT_EQ(classify_error("rpc error: code = Unauthenticated desc = etcdserver: invalid auth token"),
            ErrorKind::auth_rejected);
  EXPECT_EQ(classify_error("etcdserver: user name is empty"), ErrorKind::auth_needed);
  EXPECT_EQ(classify_error("etcdserver: authentication failed, invalid user ID or password"), ErrorKind::auth_failed);
  EXPECT_EQ(classify_error("etcdserver: mvcc: required revision has been compacted"), ErrorKind::compacted);
  EXPECT_EQ(classify_error("etcdserver: no leader"), ErrorKind::other);
}

TEST(KvWatchLine, CreatedThenEvents) {
  WatchMessage m;
  std::string error;
  ASSERT_TRUE(decode_watch_line(R"({"result":{"header":{"revision":"3"},"created":true}})", m, error));
  EXPECT_TRUE(m.created);
  EXPECT_FALSE(m.canceled);
  EXPECT_TRUE(m.events.empty());
  ASSERT_TRUE(decode_watch_line(
      R"({"result":{"header":{"revision":"3"},"events":[{"kv":{"key":"dHJhZWZpay9h","create_revision":"2","mod_revision":"2","version":"1","value":"djE="}},)"
      R"({"type":"DELETE","kv":{"key":"dHJhZWZpay9h","mod_revision":"3"}}]}})",
      m, error));
  ASSERT_EQ(m.events.size(), 2u);
  EXPECT_FALSE(m.events[0].deleted);
  EXPECT_EQ(m.events[0].key, "traefik/a");
  EXPECT_EQ(m.events[0].value, "v1");
  EXPECT_EQ(m.events[0].mod_revision, 2);
  EXPECT_TRUE(m.events[1].deleted);
  EXPECT_EQ(m.events[1].mod_revision, 3);
}

TEST(KvWatchLine, CompactedAndCanceled) {
  WatchMessage m;
  std::string error;
  ASSERT_TRUE(decode_watch_line(R"({"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"3"}})", m, error));
  EXPECT_TRUE(m.canceled);
  EXPECT_EQ(m.compact_revision, 3);
  ASSERT_TRUE(decode_watch_line(R"({"result":{"header":{},"watch_id":"-1","created":true,"canceled":true,)"
                                R"("cancel_reason":"rpc error: code = Unauthenticated desc = etcdserver: invalid auth token"}})",
                                m, error));
  EXPECT_TRUE(m.created && m.canceled);
  EXPECT_EQ(classify_error(m.cancel_reason), ErrorKind::auth_rejected);
}

TEST(KvWatchLine, StreamError) {
  WatchMessage m;
  std::string error;
  ASSERT_TRUE(decode_watch_line(R"({"error":{"grpc_code":14,"http_code":503,"message":"transport is closing"}})", m, error));
  EXPECT_EQ(m.error, "transport is closing");
}

TEST(KvWatchLine, Refusals) {
  WatchMessage m;
  for (const char* bad : {"", "{", "[]", R"({"x":1})", R"({"result":{"events":[{"kv":{"key":"%%"}}]}})",
                          R"({"result":{"events":[{"type":"DELETE"}]}})", R"({"result":{"compact_revision":true}})"}) {
    std::string error;
    EXPECT_FALSE(decode_watch_line(bad, m, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(KvApply, PutsDeletesAndChangedKeys) {
  config::KvPairs pairs{{"t/a", "1"}, {"t/b", "2"}};
  std::int64_t revision = 5;
  const std::vector<WatchEvent> events{{false, "t/c", "3", 6}, {true, "t/a", "", 7}, {false, "t/c", "4", 8},
                                       {true, "t/missing", "", 8}};
  const auto changed = apply_events(pairs, events, revision);
  EXPECT_EQ(pairs, (config::KvPairs{{"t/b", "2"}, {"t/c", "4"}}));
  EXPECT_EQ(changed, (std::vector<std::string>{"t/a", "t/c", "t/missing"}));
  EXPECT_EQ(revision, 8);
}

TEST(KvApply, RevisionNeverGoesBack) {
  config::KvPairs pairs;
  std::int64_t revision = 10;
  apply_events(pairs, {{false, "k", "v", 4}}, revision);
  EXPECT_EQ(revision, 10);
}

TEST(KvBackoff, DoublesToFiveSecondsWithJitter) {
  Backoff b;
  b.rng.seed(1);
  long step = 100;
  for (int i = 0; i < 10; ++i) {
    const long d = b.next().count();
    EXPECT_GE(d, step / 2);
    EXPECT_LE(d, step);
    step = std::min(5'000L, step * 2);
  }
  EXPECT_EQ(b.step.count(), 5'000);
  b.reset();
  EXPECT_LE(b.next().count(), 100);
}

}  // namespace
}  // namespace snigate::kv
