// Every parser over every recorded packet cut at every offset, with corrupted
// length fields and with flipped bytes: each call must return a status (no
// crash, no read outside the input; ASan/UBSan builds check that), and a
// malformed status always comes with an error text.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "wire/mysql.hpp"

namespace snigate::wire::mysql {
namespace {

std::vector<std::pair<std::string, Bytes>> all_captures() {
  std::vector<std::pair<std::string, Bytes>> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(SNIGATE_TEST_DATA) + "/mysql")) {
    std::ifstream f(e.path(), std::ios::binary);
    out.emplace_back(e.path().filename().string(),
                     Bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>()));
  }
  EXPECT_GE(out.size(), 19u);
  return out;
}

// Runs every payload parser; returns how many accepted the input.
int run_all(ByteView pl) {
  int accepted = 0;
  std::string err;
  auto check = [&](Status s) {
    EXPECT_TRUE(s == Status::complete || s == Status::malformed || s == Status::is_error);
    if (s == Status::malformed) {
      EXPECT_FALSE(err.empty());
    }
    if (s == Status::complete) ++accepted;
    err.clear();
  };
  InitialHandshake hs;
  ErrPacket e;
  check(parse_initial_handshake(pl, hs, &err, &e));
  SslRequest ssl;
  check(parse_ssl_request(pl, ssl, &err));
  HandshakeResponse hr;
  const Status hs_status = parse_handshake_response(pl, hr, &err);
  check(hs_status);
  if (hs_status == Status::complete && hr.user.find('\0') == std::string::npos) {
    // Whatever parses re-encodes, and the re-encoding parses to the same fields.
    const auto again = encode_handshake_response(hr);
    if (again) {
      HandshakeResponse back;
      EXPECT_EQ(parse_handshake_response(*again, back), Status::complete);
      EXPECT_EQ(back.user, hr.user);
      EXPECT_EQ(back.auth_response, hr.auth_response);
      EXPECT_EQ(back.attrs, hr.attrs);
    }
  }
  AuthSwitchRequest sw;
  check(parse_auth_switch(pl, sw, &err));
  Bytes more;
  check(parse_auth_more_data(pl, more, &err));
  OkPacket ok;
  check(parse_ok(pl, CLIENT_PROTOCOL_41 | CLIENT_SESSION_TRACK, ok, &err));
  check(parse_ok(pl, 0, ok, &err));
  check(parse_err(pl, e, &err));
  (void)classify_auth_reply(pl);
  (void)is_ssl_request(pl);
  return accepted;
}

TEST(WireMysqlRobust, TruncationAtEveryOffset) {
  for (const auto& [name, framed] : all_captures()) {
    Packet p;
    for (std::size_t n = 0; n < framed.size(); ++n)
      EXPECT_EQ(split_packet(ByteView(framed).first(n), p), Status::need_more) << name << " " << n;
    ASSERT_EQ(split_packet(framed, p), Status::complete) << name;
    const Bytes pl(p.payload.begin(), p.payload.end());
    // Each capture is a packet some parser accepts, except the client's raw
    // answers to an auth switch (plugin data with no header byte).
    const bool raw = name == "mariadb_ed25519_signature.bin" || name == "mariadb_native_after_switch.bin";
    EXPECT_EQ(run_all(pl) >= 1, !raw) << name;
    for (std::size_t n = 0; n < pl.size(); ++n) {
      // Copy, so ASan sees the exact end of the cut.
      const Bytes cut(pl.begin(), pl.begin() + static_cast<std::ptrdiff_t>(n));
      run_all(cut);
    }
  }
}

TEST(WireMysqlRobust, TruncatedGreetingAndResponseAreNeverComplete) {
  // The parsers that know their layout must refuse a cut that drops required fields.
  for (const char* name : {"mariadb_greeting", "mariadb_greeting_2"}) {
    for (const auto& [file, framed] : all_captures()) {
      if (file != std::string(name) + ".bin") continue;
      Packet p;
      ASSERT_EQ(split_packet(framed, p), Status::complete);
      InitialHandshake full;
      ASSERT_EQ(parse_initial_handshake(p.payload, full), Status::complete);
      // Complete only at the 4.0-era length (the greeting stops after the low
      // capability word), or from the end of the scramble on: the plugin name
      // is optional and, for MySQL 5.5.7-5.5.9, may lack its NUL.
      const std::size_t old_len = 1 + full.server_version.size() + 1 + 4 + 8 + 1 + 2;
      const std::size_t scramble_end = p.payload.size() - full.auth_plugin.size() - 1;
      for (std::size_t n = 0; n < p.payload.size(); ++n) {
        InitialHandshake hs;
        const Bytes cut(p.payload.begin(), p.payload.begin() + static_cast<std::ptrdiff_t>(n));
        if (parse_initial_handshake(cut, hs) != Status::complete) continue;
        EXPECT_TRUE(n == old_len || n >= scramble_end) << name << " " << n;
        if (n >= scramble_end) {
          EXPECT_EQ(hs.scramble, full.scramble);
          EXPECT_EQ(full.auth_plugin.rfind(hs.auth_plugin, 0), 0u);
        }
      }
    }
  }
  for (const auto& [file, framed] : all_captures()) {
    if (file.find("_response") == std::string::npos) continue;
    Packet p;
    ASSERT_EQ(split_packet(framed, p), Status::complete);
    HandshakeResponse full;
    ASSERT_EQ(parse_handshake_response(p.payload, full), Status::complete) << file;
    for (std::size_t n = 0; n < p.payload.size(); ++n) {
      const Bytes cut(p.payload.begin(), p.payload.begin() + static_cast<std::ptrdiff_t>(n));
      HandshakeResponse hr;
      // A cut may still parse when it ends between optional fields; then it
      // must be a prefix of the full result, never invented data.
      if (parse_handshake_response(cut, hr) == Status::complete) {
        EXPECT_EQ(hr.user, full.user) << file << " " << n;
        EXPECT_EQ(hr.auth_response, full.auth_response) << file << " " << n;
        EXPECT_LE(hr.attrs.size(), full.attrs.size());
      }
    }
  }
}

TEST(WireMysqlRobust, CorruptedLengthsAndFlippedBytes) {
  std::mt19937 gen(12345);
  for (const auto& [name, framed] : all_captures()) {
    // Packet header lengths: every value of the first byte, and huge ones.
    for (int b = 0; b < 256; ++b) {
      Bytes f = framed;
      f[0] = static_cast<std::uint8_t>(b);
      Packet p;
      const Status s = split_packet(f, p);
      EXPECT_TRUE(s == Status::complete || s == Status::need_more) << name;
      if (s == Status::complete) {
        EXPECT_LE(p.wire_size, f.size());
      }
      f[2] = 0xff;
      EXPECT_EQ(split_packet(f, p), Status::too_large);
    }
    Packet p;
    ASSERT_EQ(split_packet(framed, p), Status::complete);
    const Bytes pl(p.payload.begin(), p.payload.end());
    // Every byte set to the values that act as lengths or markers.
    for (std::size_t i = 0; i < pl.size(); ++i) {
      for (const std::uint8_t v : {0x00, 0x01, 0xfb, 0xfc, 0xfd, 0xfe, 0xff}) {
        Bytes m = pl;
        m[i] = v;
        run_all(m);
      }
    }
    // Random flips.
    for (int round = 0; round < 200; ++round) {
      Bytes m = pl;
      const int flips = 1 + static_cast<int>(gen() % 4);
      for (int k = 0; k < flips && !m.empty(); ++k) m[gen() % m.size()] ^= static_cast<std::uint8_t>(1 + gen() % 255);
      run_all(m);
    }
  }
}

}  // namespace
}  // namespace snigate::wire::mysql
