// Lists as Traefik's API pages and filters them.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "admin/api_items.hpp"
#include "session/conn.hpp"

namespace snigate::admin {
namespace {

using session::lower_ascii;

bool same_ignoring_case(std::string_view a, std::string_view b) { return lower_ascii(a) == lower_ascii(b); }

// Traefik's filters: status (any case), search in the name (and a router's
// rule), serviceName ("db" or "db@file"), middlewareName (exact).
bool kept(const Request& req, const Item& item) {
  const std::string_view status = req.param("status");
  if (!status.empty() && !same_ignoring_case(status, item.status)) return false;
  const std::string search = lower_ascii(req.param("search"));
  if (!search.empty() && lower_ascii(item.name).find(search) == std::string::npos &&
      lower_ascii(item.rule).find(search) == std::string::npos)
    return false;
  const std::string_view service = req.param("serviceName");
  const bool has_provider = service.find('@') != std::string_view::npos;
  if (!service.empty() && service != item.service && (has_provider || std::string(service) + "@file" != item.service))
    return false;
  const std::string_view middleware = req.param("middlewareName");
  const auto has = [&](std::string_view m) { return std::ranges::find(item.middlewares, m) != item.middlewares.end(); };
  return middleware.empty() || has(middleware) || has(std::string(middleware) + "@file");
}

// A positive whole number, or the default when absent; nullopt when bad.
std::optional<std::size_t> positive(const Request& req, std::string_view key, std::size_t fallback) {
  const std::string_view raw = req.param(key);
  if (raw.empty()) return fallback;
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), n);
  if (ec != std::errc{} || end != raw.data() + raw.size() || n == 0) return std::nullopt;
  return n;
}

}  // namespace

Response list_response(const Request& req, std::vector<Item> items) {
  std::erase_if(items, [&](const Item& i) { return !kept(req, i); });
  std::ranges::sort(items, {}, &Item::name);
  const auto per_page = positive(req, "per_page", 100);
  const auto page = positive(req, "page", 1);
  if (!per_page) return error_response(400, fmt::format("invalid request: per_page: \"{}\"", req.param("per_page")));
  if (!page) return error_response(400, fmt::format("invalid request: page: \"{}\"", req.param("page")));
  const std::size_t n = items.size();
  const std::size_t pages = n / *per_page + (n % *per_page != 0);
  if (*page > 1 && *page - 1 >= pages)
    return error_response(400, fmt::format("invalid request: page: {}, per_page: {}", *page, *per_page));
  const std::size_t start = (*page - 1) * *per_page;  // below n here, so no overflow
  const std::size_t end = start + std::min(*per_page, n - start);
  json body = json::array();
  for (std::size_t i = start; i < end; ++i) body.push_back(items[i].take_body());
  Response r = json_response(body);
  r.headers.emplace_back("X-Next-Page", std::to_string(end < n ? *page + 1 : 1));
  return r;
}

Response item_response(std::vector<Item> items, std::string_view name, std::string_view what) {
  for (Item& i : items)
    if (i.name == name) return json_response(i.take_body());
  return error_response(404, fmt::format("{} not found: {}", what, name));
}

}  // namespace snigate::admin
