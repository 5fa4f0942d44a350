#pragma once
// Closing a connection that snigate answered itself (a refusal, whoami):
// closing with unread input makes the kernel send a reset, which can destroy
// the answer still in flight. So half-close, then read and discard until the
// client closes or a short time passes.
#include "net/asio.hpp"
#include "net/tls_stream.hpp"

namespace snigate::net {

awaitable<void> close_after_reply(tcp::socket& sock, TlsStream* tls, Duration wait = Duration(1000));

}  // namespace snigate::net
