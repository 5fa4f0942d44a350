// libFuzzer target for every MySQL packet codec. The input is split into
// packets as the session would (split_packet over the stream), and each
// payload goes through every parser; whatever parses is re-encoded and parsed
// again, and the round trip must agree on the fields the session relies on.
#include <cstdlib>

#include "wire/mysql.hpp"

namespace {

namespace m = snigate::wire::mysql;

void check(bool ok) {
  if (!ok) std::abort();
}

void parse_all(m::ByteView pl) {
  std::string err;
  auto malformed_has_text = [&](m::Status s) {
    if (s == m::Status::malformed) check(!err.empty());
    err.clear();
    return s == m::Status::complete;
  };

  m::InitialHandshake hs;
  m::ErrPacket e;
  const m::Status hs_status = m::parse_initial_handshake(pl, hs, &err, &e);
  if (malformed_has_text(hs_status)) {
    check(hs.scramble_len >= 8 && hs.scramble_len <= 20);
    if (hs.protocol == 10 && hs.server_version.find('\0') == std::string::npos &&
        hs.auth_plugin.find('\0') == std::string::npos && (hs.scramble_len == 20 || hs.scramble_len == 8)) {
      m::InitialHandshake back;
      const m::Bytes b = m::encode_initial_handshake(hs);
      check(m::parse_initial_handshake(b, back) == m::Status::complete);
      check(back.server_version == hs.server_version && back.connection_id == hs.connection_id);
      check(back.capabilities == hs.capabilities || (hs.capabilities & m::CLIENT_MYSQL));
    }
  }

  m::SslRequest ssl;
  if (malformed_has_text(m::parse_ssl_request(pl, ssl, &err))) {
    check(m::is_ssl_request(pl));
    m::SslRequest back;
    check(m::parse_ssl_request(m::encode_ssl_request(ssl), back) == m::Status::complete);
    check(back.all_capabilities() == ssl.all_capabilities());
  }

  m::HandshakeResponse hr;
  if (malformed_has_text(m::parse_handshake_response(pl, hr, &err))) {
    check(!m::is_ssl_request(pl));
    if (const auto b = m::encode_handshake_response(hr)) {
      m::HandshakeResponse back;
      check(m::parse_handshake_response(*b, back) == m::Status::complete);
      check(back.user == hr.user && back.auth_response == hr.auth_response && back.attrs == hr.attrs &&
            back.capabilities == hr.capabilities);
    }
    (void)m::user_at_host(hr.user);
  }

  m::AuthSwitchRequest sw;
  if (malformed_has_text(m::parse_auth_switch(pl, sw, &err))) {
    m::AuthSwitchRequest back;
    check(m::parse_auth_switch(m::encode_auth_switch(sw), back) == m::Status::complete);
    check(back.plugin == sw.plugin);
  }
  m::Bytes more;
  if (malformed_has_text(m::parse_auth_more_data(pl, more, &err))) check(more.size() + 1 == pl.size());
  for (const std::uint64_t caps : {std::uint64_t{0}, m::CLIENT_PROTOCOL_41 | m::CLIENT_SESSION_TRACK}) {
    m::OkPacket ok;
    if (malformed_has_text(m::parse_ok(pl, caps, ok, &err))) {
      m::OkPacket back;
      check(m::parse_ok(m::encode_ok(ok, caps), caps, back) == m::Status::complete);
      check(back.affected_rows == ok.affected_rows && back.info == ok.info);
    }
  }
  if (malformed_has_text(m::parse_err(pl, e, &err))) {
    m::ErrPacket back;
    check(m::parse_err(m::encode_err_payload(e, !e.sql_state.empty()), back) == m::Status::complete);
    check(back.code == e.code);
  }
  (void)m::classify_auth_reply(pl);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  m::ByteView data(bytes, size);
  // The whole input as one payload, then as a stream of framed packets.
  parse_all(data);
  while (!data.empty()) {
    m::Packet p;
    const m::Status s = m::split_packet(data, p);
    if (s != m::Status::complete) {
      check(s == m::Status::need_more || s == m::Status::too_large);
      break;
    }
    check(p.wire_size == m::kHeaderSize + p.payload.size() && p.wire_size <= data.size());
    check(m::frame(p.header.seq, p.payload) == m::Bytes(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(p.wire_size)));
    parse_all(p.payload);
    data = data.subspan(p.wire_size);
  }
  return 0;
}
