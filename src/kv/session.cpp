#include "kv/session.hpp"

#include "kv/http.hpp"

namespace snigate::kv {
namespace {

CallResult post(const Session& s, std::string_view path, const std::string& body, std::chrono::milliseconds timeout) {
  const HttpReply reply = post_json(HttpRequest{s.url(path), s.token, body, &s.opts, s.stop}, timeout);
  CallResult r;
  if (!reply.error.empty()) {
    r.unreachable = true;
    r.error = reply.error;
    return r;
  }
  if (reply.status == 200) {
    r.ok = true;
    r.body = reply.body;
    return r;
  }
  r.error = error_message(reply.body);
  if (r.error.empty()) r.error = "HTTP " + std::to_string(reply.status);
  r.kind = classify_error(r.error);
  // 5xx: this member cannot serve (no leader, stopping); another one may.
  r.unreachable = reply.status >= 500;
  return r;
}

}  // namespace

std::string Session::url(std::string_view path) const {
  return endpoint_url(endpoint_name(), opts.tls.has_value()) + std::string(path);
}

void Session::next_endpoint() { endpoint = (endpoint + 1) % opts.endpoints.size(); }

CallResult authenticate(Session& s, std::chrono::milliseconds timeout) {
  s.token.clear();
  CallResult r = post(s, "/v3/auth/authenticate", authenticate_body(s.opts.username, s.opts.password), timeout);
  if (r.ok && !decode_token(r.body, s.token, r.error)) r.ok = false;
  if (!r.ok && !r.unreachable) r.error = "authentication as " + s.opts.username + " failed: " + r.error;
  return r;
}

CallResult call(Session& s, std::string_view path, const std::string& body, std::chrono::milliseconds timeout) {
  const bool with_user = !s.opts.username.empty();
  if (with_user && s.token.empty()) {
    CallResult a = authenticate(s, timeout);
    if (!a.ok) return a;
  }
  CallResult r = post(s, path, body, timeout);
  if (with_user && !r.ok && r.kind == ErrorKind::auth_rejected) {
    CallResult a = authenticate(s, timeout);
    if (!a.ok) return a;
    r = post(s, path, body, timeout);
  }
  if (r.kind == ErrorKind::auth_needed)
    r.error += " (etcd has authentication on: give a username and password)";
  return r;
}

CallResult call_any(Session& s, std::string_view path, const std::string& body, std::chrono::milliseconds timeout) {
  std::string errors;
  CallResult r;
  for (std::size_t tried = 0; tried < s.opts.endpoints.size(); ++tried) {
    r = call(s, path, body, timeout);
    if (!r.unreachable || (s.stop && s.stop->load())) break;
    errors += (errors.empty() ? "" : "; ") + s.endpoint_name() + ": " + r.error;
    s.next_endpoint();
    s.token.clear();
  }
  if (r.unreachable) r.error = errors;
  else if (!r.ok) r.error = s.endpoint_name() + ": " + r.error;
  return r;
}

}  // namespace snigate::kv
