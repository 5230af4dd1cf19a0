#pragma once
// Proxy mode (spec/http-api.md, "Proxy mode"): ratelimitd in front of an
// HTTP upstream. Each request not on a bypass path is decided by the policy
// engine; admitted requests are forwarded (bodies streamed both ways, over a
// keep-alive pool) and get the rate-limit headers on the upstream's
// response; denied ones get a 429 in the configured format. Upstream
// failures feed a circuit breaker; while it is open the proxy answers 503
// with Retry-After without calling the upstream (and without charging the
// caller's limits).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http_server.hpp"
#include "metrics.hpp"
#include "proxy/client_identity.hpp"
#include "ratelimit/http/denial_body.hpp"
#include "ratelimit/http/rate_limit_headers.hpp"
#include "ratelimit/policy/config.hpp"
#include "ratelimit/policy/engine.hpp"
#include "ratelimit/resilience/circuit_breaker.hpp"
#include "ratelimit/time.hpp"

namespace ratelimitd::proxy {

struct ProxyOptions {
  ratelimit::policy::UpstreamAddress upstream;
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;
  IdentitySettings identity;
  std::vector<std::string> bypass;
  ratelimit::http::ErrorFormat error_format = ratelimit::http::ErrorFormat::problem;
  ratelimit::http::HeaderStyles header_styles;
  std::vector<int> failure_statuses{502, 503, 504};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds upstream_timeout{30000};
  std::size_t pool_size = 64;
  /// Header size and client timeouts (bodies are streamed: no body limit).
  ServerLimits limits;
  ratelimit::CircuitBreakerConfig breaker;
};

/// Options from a config's `proxy:` section (the upstream and listen address
/// may come from the command line instead; see main.cpp).
[[nodiscard]] ProxyOptions proxy_options(const ratelimit::policy::ProxyConfig& config,
                                         const ratelimit::http::HeaderStyles& styles);

/// True when `path` is bypassed: equal to an entry, or under an entry that
/// ends in '/'.
[[nodiscard]] bool is_bypassed(std::string_view path, const std::vector<std::string>& bypass);

/// Reports each decision (metrics, analytics).
using DecisionObserver = std::function<void(const DecisionOutcome&, double seconds)>;

class ProxyServer {
 public:
  /// Resolves the upstream's address now (throws std::runtime_error naming
  /// it when it does not resolve). `engine` and `clock` must outlive this.
  ProxyServer(ProxyOptions options, ratelimit::policy::PolicyEngine& engine,
              std::shared_ptr<const ratelimit::Clock> clock, DecisionObserver observe);
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  /// Listens on options.listen_* on every event loop of `server` (throws
  /// std::runtime_error naming the address when it cannot). Call once,
  /// before server.run(); server.stop() stops the proxy too.
  void attach(HttpServer& server);
  /// The port actually bound (after attach).
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// Counters since the start (monotonic; read one by one) and the
  /// upstream breaker's state, as /metrics reports them.
  [[nodiscard]] ServiceMetrics::StoreView::Proxy stats() const;

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace ratelimitd::proxy
