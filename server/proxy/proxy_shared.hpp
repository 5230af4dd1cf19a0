#pragma once
// The proxy's state shared by every event loop (thread-safe parts only) and
// each loop's own state (touched by that loop's thread only).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "proxy/added_headers.hpp"
#include "proxy/field_arena.hpp"
#include "proxy/proxy_server.hpp"
#include "proxy/upstream_pool.hpp"

namespace ratelimitd::proxy {

struct ProxyServer::Shared {
  Shared(ProxyOptions o, ratelimit::policy::PolicyEngine& e,
         std::shared_ptr<const ratelimit::Clock> c, DecisionObserver obs)
      : options(std::move(o)),
        engine(e),
        clock(std::move(c)),
        observe(std::move(obs)),
        breaker(options.breaker, clock) {}

  const ProxyOptions options;
  ratelimit::policy::PolicyEngine& engine;
  std::shared_ptr<const ratelimit::Clock> clock;
  DecisionObserver observe;
  ratelimit::CircuitBreaker breaker;
  std::vector<boost::asio::ip::tcp::endpoint> upstream_endpoints;
  std::string upstream_host_header;  // "host:port", for requests without Host
  std::atomic<std::uint16_t> port{0};

  std::atomic<std::uint64_t> bypassed{0}, denied{0}, forwarded{0}, upstream_errors{0},
      upstream_failures{0}, breaker_rejected{0};
};

// Both messages of an exchange keep their fields in the connection's arena.
using ProxyRequest = boost::beast::http::request<boost::beast::http::buffer_body, ProxyFields>;
using ProxyResponse = boost::beast::http::response<boost::beast::http::buffer_body, ProxyFields>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::buffer_body, ArenaAllocator<char>>;
using ResponseParser = boost::beast::http::response_parser<boost::beast::http::buffer_body, ArenaAllocator<char>>;

/// One client connection: its socket, whether it waits for a request, and
/// the upstream connection it is using (so the watchdog sees both).
struct ClientConnection {
  explicit ClientConnection(boost::asio::ip::tcp::socket s) : stream(std::move(s)) {}
  TimedSocket stream;
  std::string peer;
  bool idle = true;
  UpstreamConnection* upstream = nullptr;
  /// Body bytes in transit, either way (one relay at a time per connection).
  /// Here rather than in each relay's coroutine frame: a 16 KiB malloc per
  /// relay made glibc consolidate its fast bins on every request.
  std::array<char, 16 * 1024> chunk;
  /// A head rendered by hand (head_render.hpp): reused, so no allocation
  /// per message once it has grown.
  std::string head;
  /// The rate-limit headers for the current request's response.
  AddedHeaders added;
  /// The fields of the current request and its upstream response; reset
  /// before each request is read (when neither parser is alive).
  FieldArena arena;
  /// The upstream response being relayed (constructed per response, in the
  /// arena).
  std::optional<ResponseParser> response;
};

/// One event loop's part of the proxy.
struct ProxyLoop {
  ProxyLoop(boost::asio::io_context& io_context, const ProxyServer::Shared& shared)
      : io(io_context),
        pool(shared.options.pool_size, std::chrono::seconds(15)),
        watchdog(io_context) {}
  boost::asio::io_context& io;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor;
  UpstreamPool pool;
  std::unordered_set<ClientConnection*> clients;
  bool stopping = false;
  /// Closes sockets past their deadline every kWatchdogTick (deadline.hpp).
  boost::asio::steady_timer watchdog;
};

/// Serves one client connection until it closes (proxy_exchange.cpp).
boost::asio::awaitable<void> serve_client(std::shared_ptr<ClientConnection> client, ProxyLoop& loop,
                                          std::shared_ptr<ProxyServer::Shared> shared);

}  // namespace ratelimitd::proxy
