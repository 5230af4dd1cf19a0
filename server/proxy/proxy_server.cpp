#include "proxy/proxy_server.hpp"

#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <stdexcept>

#include "proxy/proxy_shared.hpp"

namespace ratelimitd::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

ProxyOptions proxy_options(const ratelimit::policy::ProxyConfig& config,
                           const ratelimit::http::HeaderStyles& styles) {
  ProxyOptions o;
  if (!config.upstream.empty()) o.upstream = ratelimit::policy::parse_upstream_url(config.upstream);
  o.identity = {config.user_header, config.api_key_header, config.api_key_query,
                config.trusted_proxies};
  o.bypass = config.bypass;
  o.error_format = config.error_format;
  o.header_styles = styles;
  o.failure_statuses = config.failure_statuses;
  o.connect_timeout = std::chrono::milliseconds(config.connect_timeout / 1000);
  o.upstream_timeout = std::chrono::milliseconds(config.upstream_timeout / 1000);
  o.pool_size = static_cast<std::size_t>(config.pool_size);
  o.breaker.name = "upstream";
  o.breaker.window_size = config.breaker_window;
  o.breaker.minimum_calls = config.breaker_minimum_calls;
  o.breaker.failure_rate_threshold = config.breaker_failure_rate;
  o.breaker.wait_in_open = config.breaker_open;
  o.breaker.permitted_calls_in_half_open = 1;
  o.breaker.successes_to_close = 1;
  return o;
}

bool is_bypassed(std::string_view path, const std::vector<std::string>& bypass) {
  for (const auto& entry : bypass) {
    if (path == entry) return true;
    if (!entry.empty() && entry.back() == '/' && path.substr(0, entry.size()) == entry) return true;
  }
  return false;
}

namespace {

// Every kWatchdogTick: closes the sockets (client and upstream) whose
// deadline has passed. Stops when the loop stops.
void watch(ProxyLoop& loop) {
  loop.watchdog.expires_after(kWatchdogTick);
  loop.watchdog.async_wait([&loop](beast::error_code ec) {
    if (ec || (loop.stopping && loop.clients.empty())) return;
    const SteadyTime now = std::chrono::steady_clock::now();
    // Copy: a check may end a connection, which erases it from the set.
    const std::vector<ClientConnection*> clients(loop.clients.begin(), loop.clients.end());
    for (ClientConnection* c : clients) {
      if (c->upstream != nullptr) c->upstream->stream.check(now);
      c->stream.check(now);
    }
    watch(loop);
  });
}

void accept_loop(ProxyLoop& loop, std::shared_ptr<ProxyServer::Shared> shared) {
  loop.acceptor->async_accept(
      loop.io, [&loop, shared](beast::error_code ec, tcp::socket socket) {
        if (!loop.acceptor->is_open()) return;
        if (!ec) {
          beast::error_code ignored;
          socket.set_option(tcp::no_delay(true), ignored);
          auto client = std::make_shared<ClientConnection>(std::move(socket));
          const auto peer = client->stream.socket.remote_endpoint(ignored);
          if (!ignored) client->peer = peer.address().to_string();
          asio::co_spawn(loop.io, serve_client(std::move(client), loop, shared), asio::detached);
        }
        accept_loop(loop, shared);  // also after an error (e.g. too many open files)
      });
}

}  // namespace

ProxyServer::ProxyServer(ProxyOptions options, ratelimit::policy::PolicyEngine& engine,
                         std::shared_ptr<const ratelimit::Clock> clock, DecisionObserver observe)
    : shared_(std::make_shared<Shared>(std::move(options), engine, std::move(clock),
                                       std::move(observe))) {
  const auto& up = shared_->options.upstream;
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::error_code ec;
  const auto results = resolver.resolve(up.host, std::to_string(up.port), ec);
  if (ec || results.empty()) {
    throw std::runtime_error("cannot resolve the upstream '" + up.host + ":" +
                             std::to_string(up.port) + "': " + ec.message());
  }
  for (const auto& entry : results) shared_->upstream_endpoints.push_back(entry.endpoint());
  shared_->upstream_host_header = up.host.find(':') != std::string::npos
                                      ? "[" + up.host + "]:" + std::to_string(up.port)
                                      : up.host + ":" + std::to_string(up.port);
}

ProxyServer::~ProxyServer() = default;

void ProxyServer::attach(HttpServer& server) {
  const auto& o = shared_->options;
  beast::error_code ec;
  const auto address = asio::ip::make_address(o.listen_host, ec);
  if (ec) throw std::runtime_error("cannot listen on '" + o.listen_host + "': not an IP address");
  tcp::endpoint endpoint(address, o.listen_port);
  server.attach([&](asio::io_context& io) -> std::function<void()> {
    auto loop = std::make_shared<ProxyLoop>(io, *shared_);
    try {
      tcp::acceptor acceptor(io);
      acceptor.open(endpoint.protocol());
      acceptor.set_option(asio::socket_base::reuse_address(true));
      const int one = 1;
      if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        throw std::runtime_error("cannot set SO_REUSEPORT");
      acceptor.bind(endpoint);
      acceptor.listen(asio::socket_base::max_listen_connections);
      loop->acceptor.emplace(std::move(acceptor));
    } catch (const std::exception& e) {
      throw std::runtime_error("proxy: cannot listen on " + o.listen_host + ":" +
                               std::to_string(endpoint.port()) + ": " + e.what());
    }
    // Port 0 picks a free port once; the other loops share it.
    endpoint.port(loop->acceptor->local_endpoint().port());
    shared_->port = endpoint.port();
    accept_loop(*loop, shared_);
    watch(*loop);
    // On stop: no new connections, idle ones closed, requests in progress
    // finish (each connection closes after its current response).
    return [loop] {
      loop->stopping = true;
      beast::error_code ignored;
      loop->acceptor->close(ignored);
      loop->pool.close_all();
      const std::vector<ClientConnection*> clients(loop->clients.begin(), loop->clients.end());
      for (ClientConnection* c : clients) {
        if (c->idle) c->stream.close();
      }
      if (loop->clients.empty()) loop->watchdog.cancel();
    };
  });
}

std::uint16_t ProxyServer::port() const noexcept { return shared_->port.load(); }

ServiceMetrics::StoreView::Proxy ProxyServer::stats() const {
  const Shared& s = *shared_;
  ServiceMetrics::StoreView::Proxy out;
  out.bypassed = s.bypassed.load(std::memory_order_relaxed);
  out.denied = s.denied.load(std::memory_order_relaxed);
  out.forwarded = s.forwarded.load(std::memory_order_relaxed);
  out.upstream_errors = s.upstream_errors.load(std::memory_order_relaxed);
  out.upstream_failures = s.upstream_failures.load(std::memory_order_relaxed);
  out.breaker_rejected = s.breaker_rejected.load(std::memory_order_relaxed);
  out.breaker = s.breaker.state();
  return out;
}

}  // namespace ratelimitd::proxy
