#pragma once
// Per-connection deadlines checked by a per-loop watchdog, instead of a
// timer armed and cancelled around every read and write (beast::tcp_stream's
// way): setting a deadline is a clock read and a store, and one timer per loop
// closes the sockets whose deadline has passed. Timeouts are then exact to
// the watchdog's tick (kWatchdogTick). Used by the HTTP server and the proxy. Each operation sets its deadline
// before it starts and clears it when it ends.

#include <boost/asio/ip/tcp.hpp>
#include <chrono>

namespace ratelimitd {

using SteadyTime = std::chrono::steady_clock::time_point;
inline constexpr std::chrono::milliseconds kWatchdogTick{100};

/// A socket with a deadline. Only its event loop's thread touches it.
struct TimedSocket {
  explicit TimedSocket(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
  boost::asio::ip::tcp::socket socket;
  SteadyTime deadline = SteadyTime::max();
  bool timed_out = false;

  /// The next operations must end within `timeout` from now.
  void expire_after(std::chrono::milliseconds timeout) {
    deadline = std::chrono::steady_clock::now() + timeout;
  }
  void expire_never() { deadline = SteadyTime::max(); }
  /// Called by the watchdog: closes the socket once its deadline passed,
  /// which ends its pending operations (operation_aborted).
  void check(SteadyTime now) {
    if (now < deadline) return;
    timed_out = true;
    deadline = SteadyTime::max();
    boost::system::error_code ignored;
    socket.close(ignored);
  }
  void close() {
    boost::system::error_code ignored;
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }
};

}  // namespace ratelimitd
