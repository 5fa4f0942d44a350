// libFuzzer target for every PostgreSQL codec. The input goes through the
// startup-packet parsers whole, then is read as a connection would be (an
// optional startup packet, then typed messages split one after another), and
// every message body goes through every body parser. Whatever parses is
// re-encoded, and the encoding must give back the same bytes or fields.
#include <cstdlib>

#include "wire/postgres.hpp"

namespace {

namespace pg = snigate::wire::postgres;

void check(bool ok) {
  if (!ok) std::abort();
}

pg::Bytes copy(pg::ByteView v) { return pg::Bytes(v.begin(), v.end()); }

std::string_view text(pg::ByteView v) { return {reinterpret_cast<const char*>(v.data()), v.size()}; }

void put32(pg::Bytes& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}

void untyped(pg::ByteView in) {
  std::string why;
  pg::StartupMessage s;
  const pg::Status st = pg::parse_startup(in, s, &why);
  if (st == pg::Status::malformed || st == pg::Status::too_large) check(!why.empty());
  if (st == pg::Status::complete) {
    check(pg::classify_first(in) == pg::First::startup_message);
    check(pg::startup_length(in) == in.size());
    // parse -> encode -> parse: the same bytes, so the same fields.
    const pg::Bytes again = pg::encode_startup(s);
    check(again == copy(in));
    pg::StartupMessage back;
    check(pg::parse_startup(again, back) == pg::Status::complete);
    check(back.protocol == s.protocol && back.params == s.params);
    for (const auto& [k, v] : s.params) check(s.get(k) != nullptr);
    if (const std::string* user = s.get("user")) {
      const pg::UserHost uh = pg::user_at_host(*user);
      if (uh.host.empty()) check(uh.user == *user);
      else check(std::string(uh.user) + "@" + std::string(uh.host) == *user);
    }
  } else {
    check(s.params.empty());
  }

  pg::CancelRequest c;
  if (pg::parse_cancel(in, c) == pg::Status::complete) {
    check(pg::classify_first(in) == pg::First::cancel_request);
    check(c.key.size() >= 4 && c.key.size() <= pg::kMaxCancelKey);
    check(pg::encode_cancel(c) == copy(in));
  }
}

void body(pg::ByteView b) {
  pg::Authentication a;
  if (pg::parse_authentication(b, a) == pg::Status::complete) {
    check(a.code == pg::kAuthSasl || a.mechanisms.empty());
    if (a.code == pg::kAuthSasl) {
      pg::Bytes again;
      put32(again, a.code);
      for (const auto& m : a.mechanisms) {
        check(!m.empty());
        again.insert(again.end(), m.begin(), m.end());
        again.push_back(0);
      }
      again.push_back(0);
      check(again == copy(b));
    }
    (void)pg::expects_client_reply(a.code);
  }

  pg::CancelRequest k;
  if (pg::parse_backend_key_data(b, k) == pg::Status::complete) check(k.key.size() + 4 == b.size());

  pg::ErrorFields e;
  if (pg::parse_error_fields(b, e) == pg::Status::complete) {
    std::size_t n = 1;
    for (const auto& [t, v] : e.fields) {
      check(t != 0 && v.find('\0') == std::string::npos);
      n += 2 + v.size();
    }
    check(n == b.size());
    if (!e.fields.empty()) check(e.get(e.fields.front().first) == e.fields.front().second);
  }

  pg::SaslInitialResponse r;
  if (pg::parse_sasl_initial_response(b, r) == pg::Status::complete) {
    check(!r.mechanism.empty());
    const std::size_t rest = b.size() - r.mechanism.size() - 5;
    check(r.gs2_flag == (rest > 0 ? static_cast<char>(b[b.size() - rest]) : 0));
  }

  // The error encoder with fuzzed text: always one well-formed message.
  const std::string_view t = text(b);
  const pg::Bytes err = pg::encode_error("FATAL", "08P01", t, t.substr(0, t.size() / 2));
  pg::Message m;
  check(pg::split_message(err, m, err.size()) == pg::Status::complete && m.type == 'E' && m.wire_size == err.size());
  pg::ErrorFields back;
  check(pg::parse_error_fields(m.body, back) == pg::Status::complete);
  check(back.get('M') == t.substr(0, t.find('\0')) && back.get('V') == "FATAL");
}

void stream(pg::ByteView data) {
  // A client opens with untyped packets: SSLRequest or GSSENCRequest (inside
  // the encryption that follows, the plaintext starts over), then a
  // StartupMessage or CancelRequest; typed messages come after that.
  while (data.size() >= 8) {
    const pg::First f = pg::classify_first(data);
    if (f == pg::First::ssl_request || f == pg::First::gssenc_request) {
      data = data.subspan(8);
      continue;
    }
    if (f == pg::First::startup_message || f == pg::First::cancel_request) {
      const std::size_t len = pg::startup_length(data);
      if (len > data.size()) return;
      untyped(data.first(len));
      data = data.subspan(len);
    }
    break;
  }
  while (!data.empty()) {
    pg::Message m;
    const pg::Status s = pg::split_message(data, m);
    if (s != pg::Status::complete) {
      check(s == pg::Status::need_more || s == pg::Status::malformed || s == pg::Status::too_large);
      break;
    }
    check(m.wire_size == 5 + m.body.size() && m.wire_size <= data.size());
    check(pg::encode_message(m.type, m.body) == copy(data.first(m.wire_size)));
    body(m.body);
    data = data.subspan(m.wire_size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const pg::ByteView data(bytes, size);
  if (size >= 8) (void)pg::classify_first(data);
  untyped(data);
  body(data);
  stream(data);
  (void)pg::user_at_host(text(data));
  return 0;
}
