#pragma once
// Keep-alive connections to the upstream, one pool per event loop: only that
// loop's thread touches it, so it needs no lock.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <vector>

#include "deadline.hpp"

namespace ratelimitd::proxy {

/// One connection to the upstream and its read buffer (bytes the upstream
/// sent past a response stay with the connection).
struct UpstreamConnection {
  explicit UpstreamConnection(boost::asio::io_context& io)
      : stream(boost::asio::ip::tcp::socket(io)) {}
  TimedSocket stream;
  boost::beast::flat_buffer buffer;
  SteadyTime idle_since;
};

class UpstreamPool {
 public:
  /// At most `max_idle` idle connections are kept; one idle longer than
  /// `max_idle_time` is closed rather than reused (the upstream has likely
  /// closed it already).
  UpstreamPool(std::size_t max_idle, std::chrono::milliseconds max_idle_time)
      : max_idle_(max_idle), max_idle_time_(max_idle_time) {}

  /// The most recently returned idle connection, or nullptr.
  [[nodiscard]] std::unique_ptr<UpstreamConnection> take_idle();
  /// Keeps `c` for reuse (or closes it when the pool is full or closed).
  void give_back(std::unique_ptr<UpstreamConnection> c);
  /// Closes every idle connection; later `give_back`s close theirs.
  void close_all();
  [[nodiscard]] std::size_t idle() const noexcept { return idle_.size(); }

 private:
  std::size_t max_idle_;
  std::chrono::milliseconds max_idle_time_;
  std::deque<std::unique_ptr<UpstreamConnection>> idle_;
  bool closed_ = false;
};

}  // namespace ratelimitd::proxy
