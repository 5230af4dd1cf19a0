#pragma once
// ratelimitd's Prometheus metrics (prometheus-cpp registry, text format at
// GET /metrics). Labels are bounded: the API, the outcome, and the scope and
// tier names from the config; never an identifier, key or path.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "ratelimit/guarded_store.hpp"

namespace ratelimitd {

/// What one decision request ended as, for the metrics.
struct DecisionOutcome {
  bool decided = false;  ///< a decision was made (not a 4xx/5xx)
  bool allowed = false;
  std::string scope;  ///< the deciding limit's name ("" for /v1/check)
  std::string tier;
  bool store_error = false;  ///< 503: the store was unavailable
  /// For the analytics (/v1/stats, never a metric label): the endpoint rule
  /// or "METHOD path" ("" for /v1/check), and who was limited: the key for
  /// /v1/check, caller_identifier() for a policy decision.
  std::string endpoint;
  std::string identifier;
  std::int64_t cost = 1;  ///< units charged (allowed) or asked for (denied)
};

class ServiceMetrics {
 public:
  ServiceMetrics();

  /// One decision on `api` ("check", "decide" or "proxy") that took `seconds`.
  void observe(std::string_view api, const DecisionOutcome& outcome, double seconds);
  /// One policy reload that was rejected (the old policy stays).
  void count_reload_failure();
  /// One HTTP reply with `status`.
  void count_reply(unsigned status);
  /// What the caller reads from the store and engine at scrape time.
  struct StoreView {
    std::uint64_t active_keys = 0;
    std::uint64_t reloads = 0;
    /// The failure-mode guard's counters, when the store has one.
    std::optional<ratelimit::GuardedStoreStats> guard;
    /// Proxy mode's counters (cumulative) and upstream breaker, when on.
    struct Proxy {
      std::uint64_t forwarded = 0;
      std::uint64_t denied = 0;
      std::uint64_t bypassed = 0;
      std::uint64_t breaker_rejected = 0;
      std::uint64_t upstream_errors = 0;    ///< connection errors, timeouts
      std::uint64_t upstream_failures = 0;  ///< responses with a failure status
      ratelimit::BreakerState breaker = ratelimit::BreakerState::closed;
    };
    std::optional<Proxy> proxy;
  };
  /// The text exposition of every metric.
  [[nodiscard]] std::string scrape(const StoreView& view);

 private:
  prometheus::Histogram& latency_for(std::string_view api);
  // The decisions counter of these labels, found without Family::Add on
  // the hot path (see metrics.cpp).
  prometheus::Counter& decision_counter(std::string_view api, const DecisionOutcome& outcome);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Histogram>& latency_;
  // The two APIs' latency histograms, looked up once: Family::Add takes a
  // mutex and hashes the labels, which need not happen on every request.
  prometheus::Histogram& check_latency_;
  prometheus::Histogram& decide_latency_;
  prometheus::Histogram& proxy_latency_;
  prometheus::Family<prometheus::Counter>& replies_;
  // The counters every /v1/check request increments, looked up once (like
  // the histograms): a per-request Family::Add builds a label map (several
  // allocations) and takes the family's mutex, a few percent of a request.
  prometheus::Counter& check_allowed_;
  prometheus::Counter& check_denied_;
  // Replies by status, filled on first use; a family's children live as
  // long as the family, so the pointers stay valid.
  std::array<std::atomic<prometheus::Counter*>, 600> reply_counters_{};
  // Tells this instance's entries in the threads' counter caches from those
  // of an instance that lived at the same address before.
  inline static std::atomic<std::uint64_t> instances_{0};
  const std::uint64_t instance_id_ = ++instances_;
  prometheus::Counter& store_errors_;
  prometheus::Gauge& active_keys_;
  prometheus::Counter& reloads_;
  prometheus::Counter& reload_failures_;
  prometheus::Family<prometheus::Gauge>& breaker_state_;
  prometheus::Counter& fallbacks_;
  prometheus::Counter& failures_;
  // Proxy mode's metrics: registered at the first scrape that has a proxy,
  // so an instance without one exposes none of them.
  void scrape_proxy(const StoreView::Proxy& proxy);
  prometheus::Family<prometheus::Counter>* proxy_requests_ = nullptr;  // guarded by scrape_mu_
  prometheus::Family<prometheus::Counter>* proxy_upstream_ = nullptr;  // guarded by scrape_mu_
  prometheus::Family<prometheus::Gauge>* proxy_breaker_ = nullptr;     // guarded by scrape_mu_
  StoreView::Proxy last_proxy_;                                        // guarded by scrape_mu_
  std::mutex scrape_mu_;                     // scrapes may race; the deltas below are theirs
  ratelimit::GuardedStoreStats last_guard_;  // guarded by scrape_mu_
  std::uint64_t last_reloads_ = 0;           // guarded by scrape_mu_
};

}  // namespace ratelimitd
