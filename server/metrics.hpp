#pragma once
// ratelimitd's Prometheus metrics (prometheus-cpp registry, text format at
// GET /metrics). Labels are bounded: the API, the outcome, and the scope and
// tier names from the config; never an identifier, key or path.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

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
};

class ServiceMetrics {
 public:
  ServiceMetrics();

  /// One decision request on `api` ("check" or "decide") that took `seconds`.
  void observe(std::string_view api, const DecisionOutcome& outcome, double seconds);
  /// One HTTP reply with `status`.
  void count_reply(unsigned status);
  /// What the caller reads from the store and engine at scrape time.
  struct StoreView {
    std::uint64_t active_keys = 0;
    std::uint64_t reloads = 0;
    /// The failure-mode guard's counters, when the store has one.
    std::optional<ratelimit::GuardedStoreStats> guard;
  };
  /// The text exposition of every metric.
  [[nodiscard]] std::string scrape(const StoreView& view);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Histogram>& latency_;
  // The two APIs' latency histograms, looked up once: Family::Add takes a
  // mutex and hashes the labels, which need not happen on every request.
  prometheus::Histogram& check_latency_;
  prometheus::Histogram& decide_latency_;
  prometheus::Family<prometheus::Counter>& replies_;
  prometheus::Counter& store_errors_;
  prometheus::Gauge& active_keys_;
  prometheus::Gauge& reloads_;
  prometheus::Family<prometheus::Gauge>& breaker_state_;
  prometheus::Counter& fallbacks_;
  prometheus::Counter& failures_;
  std::mutex scrape_mu_;                     // scrapes may race; the deltas below are theirs
  ratelimit::GuardedStoreStats last_guard_;  // guarded by scrape_mu_
};

}  // namespace ratelimitd
