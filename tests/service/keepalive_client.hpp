#pragma once
// One keep-alive HTTP/1.1 connection to a local server (Boost.Beast,
// synchronous), for load tests: many requests on one connection, each with
// a deadline. Not thread-safe: one client per thread.

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <string>

namespace ratelimit::testing {

class KeepAliveClient {
 public:
  /// Connects lazily to 127.0.0.1:`port`; `timeout` bounds each request
  /// (connect, write and read together).
  KeepAliveClient(int port, std::chrono::milliseconds timeout);

  struct Reply {
    unsigned status = 0;
    std::string body;
    std::chrono::microseconds took{0};  ///< from sending to the whole reply read
  };
  /// POSTs `body` (application/json) to `target`. Throws std::runtime_error
  /// naming the server when the exchange fails or takes longer than the
  /// timeout. Never retries: a retried decision could be counted twice.
  Reply post(const std::string& target, const std::string& body);

 private:
  void connect();

  int port_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

}  // namespace ratelimit::testing
