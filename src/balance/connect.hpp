#pragma once
// Choosing a server of a service and connecting to it: round robin, skipping
// servers that refuse or time out, all within the transport's dialTimeout.
#include <cstdint>
#include <span>
#include <string>

#include "balance/service.hpp"
#include "net/asio.hpp"

namespace snigate::balance {

// The load balancer a connection goes to: svc itself, or for a weighted
// service the child its smooth weighted round robin picks next (descending
// through nested weighted services). nullptr with why when none can be used.
const Service* choose_load_balancer(const Service& svc, std::string& why);

// A connected server of load_balancer (choose_load_balancer's answer: a
// service with servers), or nullptr with why saying what each attempt got.
// early: bytes for the server, which go out with the connect to a plain
// (not TLS) server as far as its socket takes them at once; *sent: how many.
// preface: bytes every server gets first and whole, before early and before
// a TLS server's handshake (a PROXY protocol header).
net::awaitable<const Server*> connect_service(const Service& load_balancer, net::tcp::socket& sock, std::string& why,
                                              std::span<const std::uint8_t> early = {}, std::size_t* sent = nullptr,
                                              std::span<const std::uint8_t> preface = {});

}  // namespace snigate::balance
