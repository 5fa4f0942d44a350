// The authentication exchange after HandshakeResponse41: AuthSwitchRequest and
// AuthMoreData (OK and ERR are in mysql_codec.cpp).
#include "wire/mysql.hpp"

namespace snigate::wire::mysql {

AuthReply classify_auth_reply(ByteView payload) {
  if (payload.empty()) return AuthReply::unknown;
  switch (payload[0]) {
    case 0x00: return AuthReply::ok;
    case 0xff: return AuthReply::err;
    case 0xfe: return AuthReply::auth_switch;
    case 0x01: return AuthReply::more_data;
    default: return AuthReply::unknown;
  }
}

bool plugin_data_has_nul(std::string_view plugin) {
  return plugin == kNativePassword || plugin == kCachingSha2Password || plugin == kSha256Password;
}

Status parse_auth_switch(ByteView payload, AuthSwitchRequest& out, std::string* error) {
  detail::Fail fail{"AuthSwitchRequest", error};
  Reader r{payload};
  std::uint8_t head = 0;
  if (!r.u8(head) || head != 0xfe) return fail("header", "is not 0xfe", 0);
  AuthSwitchRequest req;
  if (r.at_end()) {
    req.plugin = "mysql_old_password";  // pre-4.1 servers: "answer with the old hash"
    out = std::move(req);
    return Status::complete;
  }
  std::string_view plugin;
  if (!r.nul_string(plugin)) return fail("plugin name", "not NUL-terminated", r.pos);
  if (plugin.empty()) return fail("plugin name", "empty", r.pos - 1);
  req.plugin = std::string(plugin);
  ByteView data = r.rest();
  if (plugin_data_has_nul(plugin) && !data.empty() && data.back() == 0) data = data.first(data.size() - 1);
  req.data.assign(data.begin(), data.end());
  out = std::move(req);
  return Status::complete;
}

Bytes encode_auth_switch(const AuthSwitchRequest& req) {
  Bytes out;
  Writer w{out};
  w.u8(0xfe);
  if (req.plugin == "mysql_old_password" && req.data.empty()) return out;
  w.nul_string(req.plugin);
  w.bytes(ByteView(req.data));
  if (plugin_data_has_nul(req.plugin)) w.u8(0);
  return out;
}

Status parse_auth_more_data(ByteView payload, Bytes& data, std::string* error) {
  detail::Fail fail{"AuthMoreData", error};
  if (payload.empty() || payload[0] != 0x01) return fail("header", "is not 0x01", 0);
  data.assign(payload.begin() + 1, payload.end());
  return Status::complete;
}

Bytes encode_auth_more_data(ByteView data) {
  Bytes out;
  out.reserve(data.size() + 1);
  out.push_back(0x01);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace snigate::wire::mysql
