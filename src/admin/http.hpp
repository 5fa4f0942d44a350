#pragma once
// One HTTP request to the admin server, as its handlers see it, and their
// answer. The server (admin/http_server) parses, bounds and times requests;
// handlers are plain functions of a Request.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace snigate::admin {

struct Request {
  std::string method;  // GET or HEAD (the server answers others with 405)
  std::string path;    // percent-decoded, basePath removed, always starts with "/"
  std::vector<std::pair<std::string, std::string>> query;  // percent-decoded, in order

  // The first value of a query parameter; "" when absent.
  std::string_view param(std::string_view name) const {
    for (const auto& [k, v] : query)
      if (k == name) return v;
    return {};
  }
  bool has(std::string_view name) const {
    for (const auto& [k, v] : query)
      if (k == name) return true;
    return false;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones, e.g. X-Next-Page
};

}  // namespace snigate::admin
