#pragma once
// The HTTP/1.1 server under ratelimitd: one event loop per thread, each with
// its own acceptor on the shared port (SO_REUSEPORT: the kernel spreads new
// connections), keep-alive, header/body limits and timeouts against slow or
// oversized clients, and a graceful stop (in-flight requests finish).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "exchange.hpp"

namespace boost::asio {
class io_context;
}

namespace ratelimitd {

struct ServerLimits {
  /// Largest request body; larger ones get 413 and the connection closes.
  std::size_t body_limit = 64 * 1024;
  /// Largest request line + headers; larger ones get 431.
  std::size_t header_limit = 16 * 1024;
  /// Time allowed for a request's headers to arrive, counted from the end of
  /// the previous response (so also the keep-alive idle time).
  std::chrono::milliseconds header_timeout{30'000};
  /// Time allowed for the body once the headers are in.
  std::chrono::milliseconds body_timeout{10'000};
  /// On stop: how long in-flight requests may take before connections are cut.
  std::chrono::milliseconds drain_timeout{10'000};
};

/// Answers one request; called on the connection's event-loop thread, so it
/// must be thread-safe and should not block for long. A reply with `stream`
/// set (Server-Sent Events) keeps the connection until the client leaves or
/// `stop` closes it.
using Handler = std::function<HttpReply(const HttpRequest&)>;

class HttpServer {
 public:
  /// Binds `host:port` (port 0: a free one, see `port()`) with `threads`
  /// event loops. Throws std::runtime_error naming the address when it
  /// cannot listen.
  HttpServer(const std::string& host, std::uint16_t port, unsigned threads, ServerLimits limits,
             Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Lets another listener (proxy mode) share the event loops: `on_loop` is
  /// called now, once per loop, with that loop's io_context (single-threaded:
  /// whatever runs on it needs no lock against itself). The function it
  /// returns runs on that loop when `stop` begins: it should close its
  /// listener and idle connections, and let requests in progress finish.
  using LoopAttachment = std::function<std::function<void()>(boost::asio::io_context&)>;
  void attach(const LoopAttachment& on_loop);

  /// The port actually bound.
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// Runs the event loops on `threads` threads (this one included) until
  /// `stop` has drained them.
  void run();
  /// Stops accepting, closes idle keep-alive connections, lets requests in
  /// progress finish (up to drain_timeout), then makes `run` return.
  /// Thread-safe, also from a signal handler's strand; idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ratelimitd
