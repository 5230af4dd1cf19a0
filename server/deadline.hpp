#pragma once
// Per-connection deadlines checked by a per-loop watchdog, instead of a
// timer armed and cancelled around every read and write (beast::tcp_stream's
// way): setting a deadline is a clock read and a store, and one timer per loop
// closes the sockets whose deadline has passed. Timeouts are then exact to
// the watchdog's tick (kWatchdogTick). Used by the HTTP server and the proxy. Each operation sets its deadline
// before it starts and clears it when it ends.

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <ctime>

namespace ratelimitd {

using SteadyTime = std::chrono::steady_clock::time_point;
inline constexpr std::chrono::milliseconds kWatchdogTick{100};

/// A deadline `timeout` from now, never earlier, read from the coarse
/// monotonic clock (the kernel's tick; no TSC read, several times cheaper in
/// a VM). Every socket operation sets one, and the watchdog's tick is far
/// coarser. steady_clock is CLOCK_MONOTONIC, the same clock at full
/// resolution, so the two compare; adding the coarse clock's resolution keeps
/// the deadline from coming early.
inline SteadyTime deadline_after(std::chrono::milliseconds timeout) noexcept {
  static const std::chrono::nanoseconds resolution = [] {
    timespec res{};
    ::clock_getres(CLOCK_MONOTONIC_COARSE, &res);
    return std::chrono::seconds(res.tv_sec) + std::chrono::nanoseconds(res.tv_nsec);
  }();
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return SteadyTime(std::chrono::duration_cast<SteadyTime::duration>(
             std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec) + resolution)) +
         timeout;
}

/// A socket with a deadline. Only its event loop's thread touches it.
struct TimedSocket {
  explicit TimedSocket(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
  boost::asio::ip::tcp::socket socket;
  SteadyTime deadline = SteadyTime::max();
  bool timed_out = false;

  /// The next operations must end within `timeout` from now.
  void expire_after(std::chrono::milliseconds timeout) {
    deadline = deadline_after(timeout);
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
