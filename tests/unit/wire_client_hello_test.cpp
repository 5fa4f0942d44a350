// ClientHello parser tests. The .bin files under data/wire/ are the first bytes
// real clients sent to a python socket listener on 127.0.0.1 (Debian 12):
//   openssl_sni_alpn   openssl s_client -servername a.example.com -alpn h2,http/1.1
//   openssl_nosni      openssl s_client -noservername
//   openssl_tls12      openssl s_client -servername legacy.example.com -tls1_2
//   openssl_big_alpn   openssl s_client -servername big.example.com -alpn <120 names, 2.6 KB hello>
//   openssl_early_data openssl s_client -servername a.example.com -sess_in S -early_data F
//                      (hello, then ChangeCipherSpec and 0-RTT application data)
//   curl_sni           curl -k --resolve www.example.com:P:127.0.0.1 https://www.example.com:P/
//   curl_ip            curl -k https://127.0.0.1:P/ (curl sends no SNI for an address)
#include "test_data.hpp"
#include "wire/client_hello.hpp"

#include <gtest/gtest.h>

namespace snigate::wire {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes load(const std::string& name) { return test::load_capture("wire", name); }

const char* const kRealHellos[] = {"openssl_sni_alpn", "openssl_nosni",      "openssl_tls12", "openssl_big_alpn",
                                   "openssl_early_data", "curl_sni", "curl_ip"};

// Owns the input and the scratch, so the views in hello stay valid (moving a
// vector keeps its buffer).
struct Result {
  Bytes data;
  Bytes scratch;
  HelloStatus status = HelloStatus::need_more;
  ClientHello hello;
  std::string error;
};

Result parse(Bytes data) {
  Result r;
  r.data = std::move(data);
  r.status = parse_client_hello(r.data, r.scratch, r.hello, &r.error);
  return r;
}

void put16(Bytes& b, std::size_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put24(Bytes& b, std::size_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 16));
  put16(b, v);
}
void append(Bytes& b, const Bytes& x) { b.insert(b.end(), x.begin(), x.end()); }
void append(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }

Bytes ext(std::uint16_t type, const Bytes& payload) {
  Bytes b;
  put16(b, type);
  put16(b, payload.size());
  append(b, payload);
  return b;
}

Bytes sni_ext(const std::vector<std::string>& names) {
  Bytes list;
  for (const auto& n : names) {
    list.push_back(0);
    put16(list, n.size());
    append(list, n);
  }
  Bytes payload;
  put16(payload, list.size());
  append(payload, list);
  return ext(0, payload);
}

Bytes alpn_ext(const std::vector<std::string>& names) {
  Bytes list;
  for (const auto& n : names) {
    list.push_back(static_cast<std::uint8_t>(n.size()));
    append(list, n);
  }
  Bytes payload;
  put16(payload, list.size());
  append(payload, list);
  return ext(16, payload);
}

Bytes versions_ext(const std::vector<std::uint16_t>& versions) {
  Bytes payload{static_cast<std::uint8_t>(versions.size() * 2)};
  for (auto v : versions) put16(payload, v);
  return ext(43, payload);
}

// A handshake message shaped like a TLS 1.3 hello, with the given extensions.
Bytes hello_msg(const std::vector<Bytes>& exts, bool with_extensions = true, std::size_t session_id = 32) {
  Bytes body{3, 3};
  body.resize(body.size() + 32, 0xab);  // random
  body.push_back(static_cast<std::uint8_t>(session_id));
  body.resize(body.size() + session_id, 0xcd);
  append(body, Bytes{0, 6, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03});
  append(body, Bytes{1, 0});
  if (with_extensions) {
    Bytes all;
    for (const auto& e : exts) append(all, e);
    put16(body, all.size());
    append(body, all);
  }
  Bytes msg{1};
  put24(msg, body.size());
  append(msg, body);
  return msg;
}

// Frames a handshake message into records of at most `chunk` bytes.
Bytes records(const Bytes& msg, std::size_t chunk = 16384, std::uint8_t type = 22) {
  Bytes out;
  for (std::size_t i = 0; i < msg.size(); i += chunk) {
    const std::size_t n = std::min(chunk, msg.size() - i);
    append(out, Bytes{type, 3, 1});
    put16(out, n);
    out.insert(out.end(), msg.begin() + static_cast<std::ptrdiff_t>(i), msg.begin() + static_cast<std::ptrdiff_t>(i + n));
  }
  return out;
}

// The handshake message of a real single-record hello.
Bytes message_of(const Bytes& hello) {
  const std::size_t len = std::size_t{hello[3]} << 8 | hello[4];
  return Bytes(hello.begin() + 5, hello.begin() + 5 + static_cast<std::ptrdiff_t>(len));
}

// Appends an extension to a real handshake message, fixing both lengths.
Bytes with_extension(Bytes msg, const Bytes& e) {
  std::size_t p = 4 + 2 + 32;
  p += 1 + msg[p];
  p += 2 + (std::size_t{msg[p]} << 8 | msg[p + 1]);
  p += 1 + msg[p];
  const std::size_t ext_len = (std::size_t{msg[p]} << 8 | msg[p + 1]) + e.size();
  msg[p] = static_cast<std::uint8_t>(ext_len >> 8);
  msg[p + 1] = static_cast<std::uint8_t>(ext_len);
  append(msg, e);
  const std::size_t body = msg.size() - 4;
  msg[1] = static_cast<std::uint8_t>(body >> 16);
  msg[2] = static_cast<std::uint8_t>(body >> 8);
  msg[3] = static_cast<std::uint8_t>(body);
  return msg;
}

bool points_into(std::string_view v, const Bytes& b) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(v.data());
  return p >= b.data() && p + v.size() <= b.data() + b.size();
}

// Every strict prefix must be need_more: the parser may never decide early on
// a valid hello, whatever the read boundaries.
void expect_prefixes_need_more(const Bytes& data, std::size_t complete_at) {
  Bytes scratch;
  ClientHello h;
  for (std::size_t n = 0; n < complete_at; ++n) {
    std::string err;
    ASSERT_EQ(parse_client_hello(std::span(data.data(), n), scratch, h, &err), HelloStatus::need_more)
        << "prefix " << n << " of " << complete_at << ": " << err;
  }
  ASSERT_EQ(parse_client_hello(std::span(data.data(), complete_at), scratch, h), HelloStatus::complete);
}

// --- real clients ----------------------------------------------------------

TEST(WireClientHello, OpensslSniAlpn) {
  const Bytes data = load("openssl_sni_alpn");
  auto r = parse(data);
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_EQ(r.hello.sni, "a.example.com");
  EXPECT_EQ(r.hello.sni_count, 1u);
  EXPECT_EQ(r.hello.alpn(), (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(r.hello.record_version, 0x0301);
  EXPECT_EQ(r.hello.legacy_version, 0x0303);
  EXPECT_EQ(r.hello.max_version(), 0x0304);
  EXPECT_FALSE(r.hello.has_ech);
  EXPECT_EQ(r.hello.record_bytes, data.size());
  // One record: views into the input, nothing copied.
  EXPECT_TRUE(points_into(r.hello.sni, r.data));
  EXPECT_TRUE(points_into(r.hello.alpn_raw, r.data));
  EXPECT_EQ(r.scratch.capacity(), 0u);
}

TEST(WireClientHello, OpensslNoSni) {
  auto r = parse(load("openssl_nosni"));
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_TRUE(r.hello.sni.empty());
  EXPECT_EQ(r.hello.sni_count, 0u);
  EXPECT_TRUE(r.hello.alpn().empty());
  EXPECT_EQ(r.hello.max_version(), 0x0304);
}

TEST(WireClientHello, OpensslTls12HasNoSupportedVersions) {
  auto r = parse(load("openssl_tls12"));
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_EQ(r.hello.sni, "legacy.example.com");
  EXPECT_TRUE(r.hello.supported_versions.empty());
  EXPECT_EQ(r.hello.max_version(), 0x0303);
  EXPECT_EQ(tls_version_name(r.hello.max_version()), "TLSv1.2");
}

TEST(WireClientHello, CurlWithAndWithoutSni) {
  auto r = parse(load("curl_sni"));
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_EQ(r.hello.sni, "www.example.com");
  EXPECT_EQ(r.hello.alpn(), (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(r.hello.max_version(), 0x0304);
  auto ip = parse(load("curl_ip"));
  ASSERT_EQ(ip.status, HelloStatus::complete) << ip.error;
  EXPECT_EQ(ip.hello.sni_count, 0u);
  EXPECT_EQ(ip.hello.alpn().size(), 2u);
}

TEST(WireClientHello, OpensslBigAlpnList) {
  const Bytes data = load("openssl_big_alpn");
  ASSERT_GT(data.size(), 2048u);
  auto r = parse(data);
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_EQ(r.hello.sni, "big.example.com");
  const auto alpn = r.hello.alpn();
  ASSERT_EQ(alpn.size(), 120u);
  EXPECT_EQ(alpn.front(), "proto-000-xxxxxxxx");
  EXPECT_EQ(alpn.back(), "proto-119-xxxxxxxx");
}

TEST(WireClientHello, EarlyDataAfterHelloIsNotPartOfRecordBytes) {
  const Bytes data = load("openssl_early_data");
  auto r = parse(data);
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_EQ(r.hello.sni, "a.example.com");
  const std::size_t first = 5 + (std::size_t{data[3]} << 8 | data[4]);
  EXPECT_EQ(r.hello.record_bytes, first);
  ASSERT_LT(first, data.size());
  EXPECT_EQ(data[first], 20);  // middlebox-compat ChangeCipherSpec, then 0-RTT data
}

TEST(WireClientHello, EveryPrefixOfRealHellosNeedsMore) {
  for (const char* name : kRealHellos) {
    SCOPED_TRACE(name);
    const Bytes data = load(name);
    const std::size_t end = parse(data).hello.record_bytes;
    ASSERT_GT(end, 0u);
    expect_prefixes_need_more(data, end);
  }
}

// --- several records -------------------------------------------------------

TEST(WireClientHello, HelloReframedIn100ByteRecords) {
  const Bytes real = load("openssl_sni_alpn");
  const Bytes data = records(message_of(real), 100);
  ASSERT_GT(data.size(), real.size());
  auto r = parse(data);
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_EQ(r.hello.sni, "a.example.com");
  EXPECT_EQ(r.hello.alpn(), (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(r.hello.record_bytes, data.size());
  EXPECT_TRUE(points_into(r.hello.sni, r.scratch));
  expect_prefixes_need_more(data, data.size());
}

TEST(WireClientHello, BigHelloByteByByteIn100ByteRecords) {
  const Bytes data = records(message_of(load("openssl_big_alpn")), 100);
  ASSERT_GT(data.size() / 105, 25u);
  expect_prefixes_need_more(data, data.size());
  auto r = parse(data);
  EXPECT_EQ(r.hello.alpn().size(), 120u);
}

TEST(WireClientHello, PostQuantumSizedKeyShare) {
  // An X25519MLKEM768-sized key share (1216 bytes of key) as a second
  // key_share-like extension type, making a real hello about 1.5 KB bigger.
  Bytes share{0x11, 0xec, 0x04, 0xc0};
  share.resize(share.size() + 1216, 0x5a);
  Bytes payload;
  put16(payload, share.size());
  append(payload, share);
  const Bytes msg = with_extension(message_of(load("curl_sni")), ext(0x4469, payload));
  ASSERT_GT(msg.size(), 1700u);
  for (std::size_t chunk : {std::size_t{16384}, std::size_t{1000}, std::size_t{100}}) {
    SCOPED_TRACE(chunk);
    const Bytes data = records(msg, chunk);
    auto r = parse(data);
    ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
    EXPECT_EQ(r.hello.sni, "www.example.com");
    expect_prefixes_need_more(data, data.size());
  }
}

TEST(WireClientHello, HandshakeHeaderSplitAcrossTinyRecords) {
  const Bytes msg = message_of(load("openssl_nosni"));
  for (std::size_t chunk : {1, 2, 3, 7}) {
    SCOPED_TRACE(chunk);
    auto r = parse(records(msg, chunk));
    ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
    EXPECT_EQ(r.hello.max_version(), 0x0304);
  }
}

TEST(WireClientHello, ScratchIsReusedAcrossHellos) {
  Bytes scratch;
  ClientHello h;
  const Bytes a = records(hello_msg({sni_ext({"one.example"})}), 50);
  const Bytes b = records(hello_msg({sni_ext({"two.example"})}), 50);
  ASSERT_EQ(parse_client_hello(a, scratch, h), HelloStatus::complete);
  EXPECT_EQ(h.sni, "one.example");
  ASSERT_EQ(parse_client_hello(b, scratch, h), HelloStatus::complete);
  EXPECT_EQ(h.sni, "two.example");
  // A later single-record hello resets every field, even with the same out.
  ASSERT_EQ(parse_client_hello(records(hello_msg({})), scratch, h), HelloStatus::complete);
  EXPECT_TRUE(h.sni.empty());
  EXPECT_EQ(h.sni_count, 0u);
}

// --- not TLS, too large ----------------------------------------------------

TEST(WireClientHello, NotTlsDecidedFromFirstBytes) {
  EXPECT_EQ(parse(Bytes{}).status, HelloStatus::need_more);
  EXPECT_EQ(parse(Bytes{0x16}).status, HelloStatus::need_more);
  EXPECT_EQ(parse(Bytes{0x16, 0x03}).status, HelloStatus::need_more);
  EXPECT_EQ(parse(Bytes{0x00}).status, HelloStatus::not_tls);
  EXPECT_EQ(parse(Bytes{'G'}).status, HelloStatus::not_tls);
  Bytes http;
  append(http, std::string_view("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(parse(http).status, HelloStatus::not_tls);
  EXPECT_EQ(parse(Bytes{0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f}).status, HelloStatus::not_tls);  // PG SSLRequest
  EXPECT_EQ(parse(Bytes{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15}).status, HelloStatus::not_tls);  // SSLv2 hello
  EXPECT_EQ(parse(Bytes{0x16, 0x02}).status, HelloStatus::not_tls);
  EXPECT_EQ(parse(Bytes{0x16, 0x03, 0x05}).status, HelloStatus::not_tls);
  EXPECT_EQ(parse(Bytes{0x16, 0x03, 0x00}).status, HelloStatus::need_more);
  EXPECT_EQ(parse(Bytes{0x17, 0x03, 0x03, 0x00, 0x10}).status, HelloStatus::not_tls);
}

TEST(WireClientHello, TooLargeDecidedFromHandshakeLength) {
  // Nine bytes are enough: the 24-bit length alone cannot fit kMaxClientHello.
  EXPECT_EQ(parse(Bytes{0x16, 3, 1, 0x40, 0x00, 1, 0xff, 0xff, 0xff}).status, HelloStatus::too_large);
  // 65524 bytes of message need at least 4 record headers: 65544 > 65536.
  EXPECT_EQ(parse(Bytes{0x16, 3, 1, 0x40, 0x00, 1, 0x00, 0xff, 0xf0}).status, HelloStatus::too_large);
  // The header may arrive one byte per record; the bound still applies.
  EXPECT_EQ(parse(records(Bytes{1, 0x01, 0x00, 0x00}, 1)).status, HelloStatus::too_large);
}

TEST(WireClientHello, TooLargeWhenSmallRecordsAddUp) {
  Bytes pad(40000, 0);
  const Bytes data = records(hello_msg({ext(21, pad)}), 5);  // doubles the size
  EXPECT_EQ(parse(data).status, HelloStatus::too_large);
  // The same hello in full records fits.
  auto r = parse(records(hello_msg({ext(21, pad)})));
  EXPECT_EQ(r.status, HelloStatus::complete) << r.error;
}

TEST(WireClientHello, LargestHelloThatFits) {
  // 4 records: 4 * 5 header bytes + message = exactly kMaxClientHello.
  const std::size_t msg_size = kMaxClientHello - 4 * 5;
  Bytes base = hello_msg({ext(21, {})});
  Bytes pad(msg_size - base.size(), 0);
  const Bytes data = records(hello_msg({ext(21, pad)}));
  ASSERT_EQ(data.size(), kMaxClientHello);
  auto r = parse(data);
  EXPECT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_EQ(r.hello.record_bytes, kMaxClientHello);
  Bytes one_more(pad.size() + 1, 0);
  EXPECT_EQ(parse(records(hello_msg({ext(21, one_more)}))).status, HelloStatus::too_large);
}

// --- records and lengths ---------------------------------------------------

TEST(WireClientHello, OtherRecordTypeBeforeHelloEndsIsMalformed) {
  const Bytes msg = hello_msg({sni_ext({"a.example"})});
  Bytes data = records(Bytes(msg.begin(), msg.begin() + 50));
  append(data, Bytes{20, 3, 3, 0, 1, 1});  // ChangeCipherSpec in the middle
  append(data, records(Bytes(msg.begin() + 50, msg.end())));
  auto r = parse(data);
  EXPECT_EQ(r.status, HelloStatus::malformed);
  EXPECT_NE(r.error.find("content type 20"), std::string::npos) << r.error;
  // Decided as soon as the interloper's first byte is in.
  EXPECT_EQ(parse(Bytes(data.begin(), data.begin() + 56)).status, HelloStatus::malformed);
}

TEST(WireClientHello, BadRecordsAreMalformed) {
  EXPECT_EQ(parse(Bytes{0x16, 3, 1, 0, 0}).status, HelloStatus::malformed);           // empty record
  EXPECT_EQ(parse(Bytes{0x16, 3, 1, 0x40, 0x01, 1}).status, HelloStatus::malformed);  // 16385 bytes
  auto r = parse(Bytes{0x16, 3, 1, 0, 10, 2});                                        // ServerHello
  EXPECT_EQ(r.status, HelloStatus::malformed);
  EXPECT_NE(r.error.find("handshake type 2"), std::string::npos) << r.error;
  // A second record with a bad version.
  Bytes data = records(hello_msg({}), 30);
  data[35 + 2] = 9;
  EXPECT_EQ(parse(data).status, HelloStatus::malformed);
}

TEST(WireClientHello, BytesAfterHelloInsideItsRecordAreMalformed) {
  Bytes msg = hello_msg({});
  append(msg, Bytes{20, 0, 0, 0});  // a second handshake message in the same record
  auto r = parse(records(msg));
  EXPECT_EQ(r.status, HelloStatus::malformed);
  EXPECT_NE(r.error.find("after the ClientHello"), std::string::npos) << r.error;
}

TEST(WireClientHello, CorruptedBodyLengths) {
  const Bytes good = hello_msg({sni_ext({"a.example"})});
  const std::size_t sid = 4 + 2 + 32, suites = sid + 1 + 32, comp = suites + 2 + 6, exts = comp + 2;
  struct Case {
    std::size_t at;
    std::uint8_t value;
    const char* field;
  } cases[] = {
      {sid, 33, "legacy_session_id"},      {sid, 0xff, "legacy_session_id"},
      {suites + 1, 5, "cipher_suites"},     {suites + 1, 0, "cipher_suites"},
      {suites, 0xff, "cipher_suites"},      {comp, 0, "legacy_compression_methods"},
      {exts + 1, 0xff, "extensions"},       {exts + 1, 1, "extensions"},
      {exts + 2 + 3, 0xff, "extension_data"}, {exts + 2 + 5, 0xff, "server_name_list"},
      {exts + 2 + 4 + 2 + 2, 0xff, "host_name"},
  };
  for (const auto& c : cases) {
    Bytes msg = good;
    msg[c.at] = c.value;
    auto r = parse(records(msg));
    EXPECT_EQ(r.status, HelloStatus::malformed) << c.field << " at " << c.at;
    EXPECT_NE(r.error.find(c.field), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("offset"), std::string::npos) << r.error;
  }
  // The handshake length says less than the fields need.
  Bytes msg = good;
  msg.resize(40);
  msg[3] = 36;
  EXPECT_EQ(parse(records(msg)).status, HelloStatus::malformed);
}

TEST(WireClientHello, EverySingleByteCorruptionIsSafe) {
  // Not a proof (the fuzzer is), but every byte of every real hello set to a
  // few values must give a status and never read out of bounds.
  for (const char* name : kRealHellos) {
    const Bytes real = load(name);
    for (std::size_t i = 0; i < real.size(); ++i) {
      for (int delta : {1, -1, 0x80}) {
        Bytes data = real;
        data[i] = static_cast<std::uint8_t>(data[i] + delta);
        auto r = parse(data);
        if (r.status == HelloStatus::malformed) {
          EXPECT_FALSE(r.error.empty());
        }
        if (i >= 3) {
          EXPECT_NE(r.status, HelloStatus::not_tls) << name << " byte " << i;
        }
      }
    }
  }
}

TEST(WireClientHello, HelloWithoutExtensions) {
  auto r = parse(records(hello_msg({}, false, 0)));
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_EQ(r.hello.max_version(), 0x0303);
  EXPECT_TRUE(r.hello.sni.empty());
}

TEST(WireClientHello, DuplicateExtensionIsMalformed) {
  auto r = parse(records(hello_msg({sni_ext({"a.example"}), alpn_ext({"h2"}), sni_ext({"b.example"})})));
  EXPECT_EQ(r.status, HelloStatus::malformed);
  EXPECT_NE(r.error.find("duplicate 0x0000"), std::string::npos) << r.error;
}

// The duplicate check keeps types below 64 in a mask and a few others in a
// list, and moves to a full set past that: a duplicate is found on each path.
TEST(WireClientHello, DuplicateFoundAmongManyExtensionTypes) {
  std::vector<Bytes> exts;
  for (std::uint16_t t = 0; t < 40; ++t) exts.push_back(ext(static_cast<std::uint16_t>(0x1000 + t), {}));
  exts.push_back(ext(63, {}));
  exts.push_back(ext(0xfe0d, {}));
  auto many = parse(records(hello_msg(exts)));
  ASSERT_EQ(many.status, HelloStatus::complete) << many.error;
  EXPECT_TRUE(many.hello.has_ech);

  const std::pair<std::uint16_t, const char*> dups[] = {{63, "0x003f"}, {0x1003, "0x1003"}, {0x1027, "0x1027"},
                                                        {0xfe0d, "0xfe0d"}};
  for (const auto& [type, text] : dups) {
    auto with_dup = exts;
    with_dup.push_back(ext(type, {}));
    auto r = parse(records(hello_msg(with_dup)));
    EXPECT_EQ(r.status, HelloStatus::malformed) << text;
    EXPECT_NE(r.error.find(std::string("duplicate ") + text), std::string::npos) << r.error;
  }
  // Within the short list, before any full set exists.
  auto few = parse(records(hello_msg({ext(0x0a0a, {}), ext(0xff01, {}), ext(0x0a0a, {})})));
  EXPECT_EQ(few.status, HelloStatus::malformed);
  EXPECT_NE(few.error.find("duplicate 0x0a0a"), std::string::npos) << few.error;
}

// --- server_name -----------------------------------------------------------

TEST(WireClientHello, SeveralNamesFirstWins) {
  auto r = parse(records(hello_msg({sni_ext({"first.example", "second.example", "third.example"})})));
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_EQ(r.hello.sni, "first.example");
  EXPECT_EQ(r.hello.sni_count, 3u);
}

TEST(WireClientHello, UnknownNameTypeSkipped) {
  Bytes list{7, 0, 3, 'x', 'y', 'z', 0, 0, 9};
  append(list, std::string_view("a.example"));
  Bytes payload;
  put16(payload, list.size());
  append(payload, list);
  auto r = parse(records(hello_msg({ext(0, payload)})));
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_EQ(r.hello.sni, "a.example");
  EXPECT_EQ(r.hello.sni_count, 1u);
}

TEST(WireClientHello, EmptyOrLongNameIsMalformed) {
  auto empty = parse(records(hello_msg({sni_ext({""})})));
  EXPECT_EQ(empty.status, HelloStatus::malformed);
  EXPECT_NE(empty.error.find("extension 0x0000 host_name: empty"), std::string::npos) << empty.error;
  EXPECT_EQ(parse(records(hello_msg({sni_ext({std::string(255, 'a')})}))).status, HelloStatus::complete);
  EXPECT_EQ(parse(records(hello_msg({sni_ext({std::string(256, 'a')})}))).status, HelloStatus::malformed);
  EXPECT_EQ(parse(records(hello_msg({sni_ext({})}))).status, HelloStatus::malformed);  // empty list
  EXPECT_EQ(parse(records(hello_msg({ext(0, {})}))).status, HelloStatus::malformed);   // no list at all
  // List shorter than the extension: trailing bytes.
  Bytes payload{0, 4, 0, 0, 1, 'a', 0};
  EXPECT_EQ(parse(records(hello_msg({ext(0, payload)}))).status, HelloStatus::malformed);
}

// --- ALPN, versions, GREASE, ECH -------------------------------------------

TEST(WireClientHello, AlpnDecoding) {
  auto r = parse(records(hello_msg({alpn_ext({"h2", "http/1.1", "postgresql", std::string(255, 'p')})})));
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  const auto alpn = r.hello.alpn();
  ASSERT_EQ(alpn.size(), 4u);
  EXPECT_EQ(alpn[2], "postgresql");
  EXPECT_EQ(alpn[3].size(), 255u);
  EXPECT_EQ(parse(records(hello_msg({alpn_ext({"h2", ""})}))).status, HelloStatus::malformed);
  EXPECT_EQ(parse(records(hello_msg({alpn_ext({})}))).status, HelloStatus::malformed);
  // An entry that overruns its list.
  Bytes payload{0, 3, 5, 'h', '2'};
  auto bad = parse(records(hello_msg({ext(16, payload)})));
  EXPECT_EQ(bad.status, HelloStatus::malformed);
  EXPECT_NE(bad.error.find("protocol_name"), std::string::npos) << bad.error;
}

TEST(WireClientHello, AlpnOfHandMadeHelloStopsAtBadEntry) {
  ClientHello h;
  h.alpn_raw = std::string_view("\x02h2\x09http", 8);
  EXPECT_EQ(h.alpn(), std::vector<std::string>{"h2"});
  h.alpn_raw = std::string_view("\x00\x02h2", 4);
  EXPECT_TRUE(h.alpn().empty());
}

TEST(WireClientHello, OffersLooksForAWholeName) {
  auto r = parse(records(hello_msg({alpn_ext({"h2", "postgresql", "http/1.1"})})));
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_TRUE(r.hello.offers("postgresql"));
  EXPECT_TRUE(r.hello.offers("http/1.1"));
  EXPECT_FALSE(r.hello.offers("postgres"));
  EXPECT_FALSE(r.hello.offers("h"));
  EXPECT_FALSE(ClientHello{}.offers("h2"));
  ClientHello bad;  // a hand-made list that overruns: names after the break are not offered
  bad.alpn_raw = std::string_view("\x02h2\x09http", 8);
  EXPECT_TRUE(bad.offers("h2"));
  EXPECT_FALSE(bad.offers("http"));
}

TEST(WireClientHello, GreaseIsIgnored) {
  auto r = parse(records(hello_msg({ext(0x0a0a, {}), versions_ext({0x7a7a, 0x0304, 0x0303}),
                                    alpn_ext({"h2"}), ext(0xfafa, {0})})));
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_EQ(r.hello.max_version(), 0x0304);
  auto only = parse(records(hello_msg({versions_ext({0x1a1a, 0xeaea})})));
  ASSERT_EQ(only.status, HelloStatus::complete) << only.error;
  EXPECT_EQ(only.hello.max_version(), 0x0303);  // legacy_version
  // 0x1a2a looks GREASE-ish but is not (both bytes must match).
  auto odd = parse(records(hello_msg({versions_ext({0x1a2a, 0x0303})})));
  EXPECT_EQ(odd.hello.max_version(), 0x1a2a);
}

TEST(WireClientHello, SupportedVersionsValidated) {
  Bytes odd{3, 3, 4, 3};
  EXPECT_EQ(parse(records(hello_msg({ext(43, odd)}))).status, HelloStatus::malformed);
  EXPECT_EQ(parse(records(hello_msg({ext(43, Bytes{0})}))).status, HelloStatus::malformed);
  Bytes overrun{6, 3, 4};
  EXPECT_EQ(parse(records(hello_msg({ext(43, overrun)}))).status, HelloStatus::malformed);
}

TEST(WireClientHello, EchFlag) {
  auto r = parse(records(hello_msg({sni_ext({"public.example"}), ext(0xfe0d, Bytes(200, 1))})));
  ASSERT_EQ(r.status, HelloStatus::complete) << r.error;
  EXPECT_TRUE(r.hello.has_ech);
  EXPECT_EQ(r.hello.sni, "public.example");  // the outer, public name
}

// --- alerts and names ------------------------------------------------------

TEST(WireTlsAlert, RecordBytes) {
  EXPECT_EQ(tls_alert_record(112), (std::array<std::uint8_t, 7>{21, 3, 3, 0, 2, 2, 112}));
  EXPECT_EQ(tls_alert_record(80, 0x0301), (std::array<std::uint8_t, 7>{21, 3, 1, 0, 2, 2, 80}));
}

TEST(WireTlsAlert, VersionNames) {
  EXPECT_EQ(tls_version_name(0x0300), "SSLv3");
  EXPECT_EQ(tls_version_name(0x0301), "TLSv1");
  EXPECT_EQ(tls_version_name(0x0302), "TLSv1.1");
  EXPECT_EQ(tls_version_name(0x0303), "TLSv1.2");
  EXPECT_EQ(tls_version_name(0x0304), "TLSv1.3");
  EXPECT_EQ(tls_version_name(0x7f1c), "unknown");
}

}  // namespace
}  // namespace snigate::wire
