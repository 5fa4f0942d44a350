#pragma once
// Which name routes a MySQL or PostgreSQL login: the client's SNI, or the
// @host part of its user name.
#include <string_view>

namespace snigate::session {

// True when the login goes by user@host: the user name has an @host part and
// the client sent no SNI, or sent an IP address as SNI (RFC 6066 forbids it,
// PHP's mysqlnd does it when it connects to an address), which names no host.
bool routes_by_user_host(std::string_view sni, std::string_view user_host);

}  // namespace snigate::session
