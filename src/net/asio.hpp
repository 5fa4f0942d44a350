#pragma once
// The slice of Asio snigate uses, and deadlines for awaitables.
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include <chrono>
#include <optional>

namespace snigate::net {

using asio::awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Duration = std::chrono::milliseconds;

// Completion token that reports errors as values instead of exceptions.
inline constexpr auto nothrow = asio::experimental::as_tuple(asio::use_awaitable);

inline awaitable<void> sleep_for(Duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(nothrow);
}

// Runs op with a deadline. nullopt: the deadline passed first and op was
// cancelled (its pending socket operations complete with operation_aborted).
template <class T>
awaitable<std::optional<T>> within(Duration d, awaitable<T> op) {
  using namespace asio::experimental::awaitable_operators;
  auto r = co_await (std::move(op) || sleep_for(d));
  if (r.index() == 0) co_return std::get<0>(std::move(r));
  co_return std::nullopt;
}

// The same for an operation with no result: true when it finished in time.
inline awaitable<bool> within(Duration d, awaitable<void> op) {
  using namespace asio::experimental::awaitable_operators;
  auto r = co_await (std::move(op) || sleep_for(d));
  co_return r.index() == 0;
}

}  // namespace snigate::net
