#include "wire/http_request.hpp"

#include <gtest/gtest.h>

using namespace snigate::wire;

TEST(HttpRequest, CompleteHead) {
  auto r = parse_http_request_head("GET /api/x?a=1 HTTP/1.1\r\nHost: h\r\n\r\nextra");
  ASSERT_EQ(r.status, HttpParse::complete) << r.error;
  EXPECT_EQ(r.head.method, "GET");
  EXPECT_EQ(r.head.target, "/api/x?a=1");
  EXPECT_TRUE(r.head.keep_alive);
  EXPECT_FALSE(r.head.has_body);
  EXPECT_EQ(r.head.size, std::string_view("GET /api/x?a=1 HTTP/1.1\r\nHost: h\r\n\r\n").size());
}

TEST(HttpRequest, NeedsMoreUntilTheBlankLine) {
  EXPECT_EQ(parse_http_request_head("GET / HTTP/1.1\r\nHost: h\r\n").status, HttpParse::need_more);
  EXPECT_EQ(parse_http_request_head("GET / HT").status, HttpParse::need_more);
  EXPECT_EQ(parse_http_request_head("").status, HttpParse::need_more);
}

TEST(HttpRequest, ConnectionAndVersion) {
  EXPECT_FALSE(parse_http_request_head("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").head.keep_alive);
  EXPECT_FALSE(parse_http_request_head("GET / HTTP/1.0\r\n\r\n").head.keep_alive);
  EXPECT_TRUE(parse_http_request_head("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n").head.keep_alive);
  auto r = parse_http_request_head("GET / HTTP/2.0\r\n\r\n");
  EXPECT_EQ(r.status, HttpParse::bad);
  EXPECT_EQ(r.http_status, 505);
}

TEST(HttpRequest, BodiesAreNoticed) {
  EXPECT_TRUE(parse_http_request_head("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n").head.has_body);
  EXPECT_FALSE(parse_http_request_head("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").head.has_body);
  EXPECT_TRUE(parse_http_request_head("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").head.has_body);
  EXPECT_EQ(parse_http_request_head("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n").http_status, 400);
}

TEST(HttpRequest, LimitsNameTheirStatus) {
  const std::string long_line = "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n";
  EXPECT_EQ(parse_http_request_head(long_line).http_status, 414);
  EXPECT_EQ(parse_http_request_head(long_line.substr(0, 8500)).http_status, 414) << "before the line ends";
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 3000; ++i) many += "X-A: b\r\n";
  EXPECT_EQ(parse_http_request_head(many).http_status, 431) << "before the head ends";
}

TEST(HttpRequest, MalformedLines) {
  EXPECT_EQ(parse_http_request_head("GET  / HTTP/1.1\r\n\r\n").http_status, 400);
  EXPECT_EQ(parse_http_request_head("GET /\x01 HTTP/1.1\r\n\r\n").http_status, 400);
  EXPECT_EQ(parse_http_request_head("GET / HTTP/1.1\r\nNoColon\r\n\r\n").http_status, 400);
  EXPECT_EQ(parse_http_request_head("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n").http_status, 400);
  auto r = parse_http_request_head("GET / HTTP/1.1\r\nA b: c\r\n\r\n");
  EXPECT_NE(r.error.find("header at byte 16"), std::string::npos) << r.error;
}

TEST(HttpRequest, TargetSplit) {
  std::string path, error;
  std::vector<std::pair<std::string, std::string>> q;
  ASSERT_TRUE(split_http_target("/api/tcp/routers/a%40file?search=db+x&page=2&flag", path, q, error)) << error;
  EXPECT_EQ(path, "/api/tcp/routers/a@file");
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"search", "db x"}));
  EXPECT_EQ(q[1].second, "2");
  EXPECT_EQ(q[2], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_FALSE(split_http_target("http://h/x", path, q, error));
  EXPECT_FALSE(split_http_target("/a%4", path, q, error));
  EXPECT_NE(error.find("percent"), std::string::npos);
  EXPECT_FALSE(split_http_target("/a%00", path, q, error));
}
