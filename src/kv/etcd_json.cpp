#include "kv/etcd_json.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

#include "wire/base64.hpp"

namespace snigate::kv {
namespace {

using json = nlohmann::json;
using wire::base64_decode;
using wire::base64_encode;

// An int64 field: grpc-gateway writes them as strings; a number is taken too.
// Absent: 0.
bool read_int(const json& obj, const char* name, std::int64_t& out) {
  out = 0;
  const auto it = obj.find(name);
  if (it == obj.end()) return true;
  if (it->is_number_integer()) {
    out = it->get<std::int64_t>();
    return true;
  }
  if (!it->is_string()) return false;
  const auto& s = it->get_ref<const std::string&>();
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// A base64 field; absent is empty (etcd leaves out empty values).
bool read_bytes(const json& obj, const char* name, std::string& out) {
  out.clear();
  const auto it = obj.find(name);
  if (it == obj.end()) return true;
  if (!it->is_string()) return false;
  auto decoded = base64_decode(it->get_ref<const std::string&>());
  if (!decoded) return false;
  out = std::move(*decoded);
  return true;
}

bool read_bool(const json& obj, const char* name) {
  const auto it = obj.find(name);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

std::string read_string(const json& obj, const char* name) {
  const auto it = obj.find(name);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A JSON object, or a discarded value when the text is not one.
json parse_object(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  return j.is_object() ? j : json(json::value_t::discarded);
}

json op_json(const KvOp& op) {
  if (op.kind == KvOp::Kind::put)
    return {{"request_put", {{"key", base64_encode(op.key)}, {"value", base64_encode(op.value)}}}};
  json del = {{"key", base64_encode(op.key)}};
  if (op.kind == KvOp::Kind::remove_prefix) del["range_end"] = base64_encode(prefix_range_end(op.key));
  return {{"request_delete_range", del}};
}

bool decode_event(const json& ev, WatchEvent& out) {
  if (!ev.is_object()) return false;
  out.deleted = read_string(ev, "type") == "DELETE";
  const auto kv = ev.find("kv");
  if (kv == ev.end() || !kv->is_object()) return false;
  return read_bytes(*kv, "key", out.key) && read_bytes(*kv, "value", out.value) &&
         read_int(*kv, "mod_revision", out.mod_revision) && !out.key.empty();
}

}  // namespace

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string endpoint_url(std::string_view endpoint, bool tls) {
  std::string_view scheme = "http";
  for (std::string_view s : {"http", "https"}) {
    const std::string with = std::string(s) + "://";
    if (endpoint.substr(0, with.size()) == with) {
      scheme = s;
      endpoint.remove_prefix(with.size());
    }
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.remove_suffix(1);
  return std::string(tls ? "https" : scheme) + "://" + std::string(endpoint);
}

std::string range_body(std::string_view prefix) {
  return json{{"key", base64_encode(prefix)}, {"range_end", base64_encode(prefix_range_end(prefix))}}.dump();
}

std::string txn_body(const std::vector<KvOp>& ops) {
  json success = json::array();
  for (const KvOp& op : ops) success.push_back(op_json(op));
  return json{{"success", success}}.dump();
}

std::string watch_create_body(std::string_view prefix, std::int64_t start_revision) {
  return json{{"create_request",
               {{"key", base64_encode(prefix)},
                {"range_end", base64_encode(prefix_range_end(prefix))},
                {"start_revision", std::to_string(start_revision)}}}}
      .dump();
}

std::string authenticate_body(std::string_view user, std::string_view password) {
  return json{{"name", user}, {"password", password}}.dump();
}

ErrorKind classify_error(std::string_view message) {
  auto has = [&](std::string_view s) { return message.find(s) != std::string_view::npos; };
  if (has("invalid auth token") || has("auth token is expired") || has("revision of auth store is old"))
    return ErrorKind::auth_rejected;
  if (has("user name is empty")) return ErrorKind::auth_needed;
  if (has("authentication failed")) return ErrorKind::auth_failed;
  if (has("required revision has been compacted")) return ErrorKind::compacted;
  return ErrorKind::other;
}

std::string error_message(std::string_view body) {
  const json j = parse_object(body);
  if (j.is_discarded()) return {};
  std::string message = read_string(j, "message");
  if (message.empty()) message = read_string(j, "error");
  // A stream's error nests: {"error": {"grpc_code": 14, "message": "..."}}.
  const auto nested = j.find("error");
  if (message.empty() && nested != j.end() && nested->is_object()) message = read_string(*nested, "message");
  return message;
}

bool decode_range(std::string_view body, RangeResult& out, std::string& error) {
  const json j = parse_object(body);
  const auto header = j.is_discarded() ? j.end() : j.find("header");
  if (header == j.end() || !header->is_object() || !read_int(*header, "revision", out.revision)) {
    error = "not an etcd range response";
    return false;
  }
  out.pairs.clear();
  const auto kvs = j.find("kvs");
  if (kvs == j.end()) return true;
  if (!kvs->is_array()) {
    error = "kvs is not a list";
    return false;
  }
  for (const json& kv : *kvs) {
    std::string key, value;
    if (!kv.is_object() || !read_bytes(kv, "key", key) || !read_bytes(kv, "value", value)) {
      error = "a key or value that is not base64";
      return false;
    }
    out.pairs[key] = std::move(value);
  }
  return true;
}

bool decode_token(std::string_view body, std::string& token, std::string& error) {
  const json j = parse_object(body);
  token = j.is_discarded() ? std::string() : read_string(j, "token");
  if (token.empty()) error = "no token in etcd's answer to authenticate";
  return !token.empty();
}

bool decode_watch_line(std::string_view line, WatchMessage& out, std::string& error) {
  out = WatchMessage{};
  const json j = parse_object(line);
  if (j.is_discarded()) {
    error = "a watch line that is not a JSON object";
    return false;
  }
  if (j.contains("error")) {
    out.error = error_message(line);
    if (out.error.empty()) out.error = j["error"].dump();
    return true;
  }
  const auto result = j.find("result");
  if (result == j.end() || !result->is_object() || !read_int(*result, "compact_revision", out.compact_revision)) {
    error = "a watch line without a result";
    return false;
  }
  out.created = read_bool(*result, "created");
  out.canceled = read_bool(*result, "canceled");
  out.cancel_reason = read_string(*result, "cancel_reason");
  const auto events = result->find("events");
  if (events == result->end()) return true;
  if (!events->is_array()) {
    error = "watch events that are not a list";
    return false;
  }
  for (const json& ev : *events) {
    if (!decode_event(ev, out.events.emplace_back())) {
      error = "a watch event without a base64 key";
      return false;
    }
  }
  return true;
}

std::vector<std::string> apply_events(config::KvPairs& pairs, const std::vector<WatchEvent>& events,
                                      std::int64_t& revision) {
  std::vector<std::string> changed;
  for (const WatchEvent& ev : events) {
    if (ev.deleted) pairs.erase(ev.key);
    else pairs[ev.key] = ev.value;
    changed.push_back(ev.key);
    revision = std::max(revision, ev.mod_revision);
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  return changed;
}

}  // namespace snigate::kv
