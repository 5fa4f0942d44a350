#pragma once
// whoami@internal: answers each connection with what snigate saw of it. HTTP/1
// clients get an HTTP response (so curl shows it); anything else gets the same
// lines as plain text.
#include <string>

#include "net/asio.hpp"
#include "net/tls_stream.hpp"
#include "observe/log.hpp"

namespace snigate::session {

// tls: the terminated client stream, or null for a plain client. early: bytes
// already read from a plain client. Returns bytes written.
net::awaitable<void> serve_whoami(net::tcp::socket& sock, net::TlsStream* tls, std::vector<std::uint8_t> early,
                                  observe::AccessRecord& rec);

std::string whoami_text(const observe::AccessRecord& rec, std::string_view cipher);

}  // namespace snigate::session
