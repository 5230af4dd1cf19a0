#include "metrics.hpp"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace ratelimitd {

namespace {

// Decision latency buckets, seconds: 25 µs .. 100 ms (a decision in memory
// takes a few µs, one through Redis a few hundred).
const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1};
  return buckets;
}

}  // namespace

ServiceMetrics::ServiceMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      decisions_(prometheus::BuildCounter()
                     .Name("ratelimit_decisions_total")
                     .Help("Decisions made, by API, outcome, deciding scope and tier")
                     .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("ratelimit_decision_duration_seconds")
                   .Help("Time to parse, decide and render one decision request")
                   .Register(*registry_)),
      check_latency_(latency_.Add({{"api", "check"}}, latency_buckets())),
      decide_latency_(latency_.Add({{"api", "decide"}}, latency_buckets())),
      replies_(prometheus::BuildCounter()
                   .Name("ratelimit_http_replies_total")
                   .Help("HTTP replies, by status code")
                   .Register(*registry_)),
      store_errors_(prometheus::BuildCounter()
                        .Name("ratelimit_store_errors_total")
                        .Help("Decision requests answered 503 because the store was unavailable")
                        .Register(*registry_)
                        .Add({})),
      active_keys_(
          prometheus::BuildGauge()
              .Name("ratelimit_active_keys")
              .Help("Limiter states held by the store (0 for Redis, which holds them itself)")
              .Register(*registry_)
              .Add({})),
      reloads_(prometheus::BuildGauge()
                   .Name("ratelimit_config_reloads")
                   .Help("Successful policy reloads since the start")
                   .Register(*registry_)
                   .Add({})),
      breaker_state_(prometheus::BuildGauge()
                         .Name("ratelimit_store_breaker_state")
                         .Help("The store breaker's state: 1 for the current one (Redis stores "
                               "with a failure mode)")
                         .Register(*registry_)),
      fallbacks_(prometheus::BuildCounter()
                     .Name("ratelimit_store_fallbacks_total")
                     .Help("Decisions made by the store's failure mode (degraded)")
                     .Register(*registry_)
                     .Add({})),
      failures_(prometheus::BuildCounter()
                    .Name("ratelimit_store_failures_total")
                    .Help("Store errors and timeouts seen by the failure-mode guard")
                    .Register(*registry_)
                    .Add({})) {}

void ServiceMetrics::observe(std::string_view api, const DecisionOutcome& outcome, double seconds) {
  (api == "check" ? check_latency_ : decide_latency_).Observe(seconds);
  if (outcome.store_error) store_errors_.Increment();
  if (!outcome.decided) return;
  // Family::Add finds an existing child under the family's mutex; the label
  // sets are few (API x outcome x scope x tier).
  decisions_
      .Add({{"api", std::string(api)},
            {"outcome", outcome.allowed ? "allowed" : "denied"},
            {"scope", outcome.scope},
            {"tier", outcome.tier}})
      .Increment();
}

void ServiceMetrics::count_reply(unsigned status) {
  replies_.Add({{"code", std::to_string(status)}}).Increment();
}

std::string ServiceMetrics::scrape(const StoreView& view) {
  active_keys_.Set(static_cast<double>(view.active_keys));
  reloads_.Set(static_cast<double>(view.reloads));
  if (view.guard) {
    const auto& g = *view.guard;
    const std::lock_guard lock(scrape_mu_);
    // The guard's counters are monotonic: add what they gained since the
    // last scrape, so these stay Prometheus counters.
    fallbacks_.Increment(static_cast<double>(g.fallbacks - last_guard_.fallbacks));
    failures_.Increment(
        static_cast<double>((g.errors + g.timeouts) - (last_guard_.errors + last_guard_.timeouts)));
    last_guard_ = g;
    for (const auto s : {ratelimit::BreakerState::closed, ratelimit::BreakerState::open,
                         ratelimit::BreakerState::half_open}) {
      breaker_state_.Add({{"state", std::string(ratelimit::to_string(s))}})
          .Set(s == g.state ? 1 : 0);
    }
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace ratelimitd
