#include "metrics.hpp"

#include <prometheus/text_serializer.h>

#include <atomic>
#include <sstream>
#include <unordered_map>

namespace ratelimitd {

namespace {

// Decision latency buckets, seconds: 25 µs .. 2.5 s (a decision in memory
// takes a few µs, one through Redis a few hundred; the top buckets catch
// Redis timeouts, 250 ms by default, so a p99 alert sees them).
const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
      0.01,     0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5};
  return buckets;
}

// A breaker's state as one gauge per state: 1 for the current one, 0 else.
void set_state_gauges(prometheus::Family<prometheus::Gauge>& family, ratelimit::BreakerState now) {
  for (const auto s : {ratelimit::BreakerState::closed, ratelimit::BreakerState::open,
                       ratelimit::BreakerState::half_open}) {
    family.Add({{"state", std::string(ratelimit::to_string(s))}}).Set(s == now ? 1 : 0);
  }
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
      proxy_latency_(latency_.Add({{"api", "proxy"}}, latency_buckets())),
      replies_(prometheus::BuildCounter()
                   .Name("ratelimit_http_replies_total")
                   .Help("HTTP replies, by status code")
                   .Register(*registry_)),
      check_allowed_(
          decisions_.Add({{"api", "check"}, {"outcome", "allowed"}, {"scope", ""}, {"tier", ""}})),
      check_denied_(
          decisions_.Add({{"api", "check"}, {"outcome", "denied"}, {"scope", ""}, {"tier", ""}})),
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
      reloads_(prometheus::BuildCounter()
                   .Name("ratelimit_config_reloads_total")
                   .Help("Successful policy reloads (SIGHUP, POST /v1/admin/reload)")
                   .Register(*registry_)
                   .Add({})),
      reload_failures_(prometheus::BuildCounter()
                           .Name("ratelimit_config_reload_failures_total")
                           .Help("Policy reloads rejected (the old policy stayed in force)")
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

prometheus::Histogram& ServiceMetrics::latency_for(std::string_view api) {
  if (api == "check") return check_latency_;
  if (api == "decide") return decide_latency_;
  if (api == "proxy") return proxy_latency_;
  return latency_.Add({{"api", std::string(api)}}, latency_buckets());
}

void ServiceMetrics::observe(std::string_view api, const DecisionOutcome& outcome, double seconds) {
  latency_for(api).Observe(seconds);
  if (outcome.store_error) store_errors_.Increment();
  if (!outcome.decided) return;
  if (api == "check" && outcome.scope.empty() && outcome.tier.empty()) {
    (outcome.allowed ? check_allowed_ : check_denied_).Increment();
    return;
  }
  decision_counter(api, outcome).Increment();
}

prometheus::Counter& ServiceMetrics::decision_counter(std::string_view api, const DecisionOutcome& outcome) {
  // Family::Add builds a map of the labels and finds the child under the
  // family's mutex: per decision that cost more than the decision (proxy
  // mode, measured). Each thread remembers the children it has used; the
  // label sets are few (API x outcome x scope x tier, all from the config).
  thread_local std::unordered_map<std::uint64_t, std::unordered_map<std::string, prometheus::Counter*>> caches;
  thread_local std::string key;
  key.assign(api);
  key += outcome.allowed ? "\n1\n" : "\n0\n";
  key += outcome.scope;
  key += '\n';
  key += outcome.tier;
  auto& cache = caches[instance_id_];
  if (const auto it = cache.find(key); it != cache.end()) return *it->second;
  prometheus::Counter& counter = decisions_.Add({{"api", std::string(api)},
                                                 {"outcome", outcome.allowed ? "allowed" : "denied"},
                                                 {"scope", outcome.scope},
                                                 {"tier", outcome.tier}});
  cache.emplace(key, &counter);
  return counter;
}

void ServiceMetrics::count_reload_failure() { reload_failures_.Increment(); }

void ServiceMetrics::count_reply(unsigned status) {
  if (status >= reply_counters_.size()) {
    replies_.Add({{"code", std::to_string(status)}}).Increment();
    return;
  }
  auto& slot = reply_counters_[status];
  prometheus::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Two threads may both look it up: Family::Add returns the same child.
    counter = &replies_.Add({{"code", std::to_string(status)}});
    slot.store(counter, std::memory_order_release);
  }
  counter->Increment();
}

std::string ServiceMetrics::scrape(const StoreView& view) {
  active_keys_.Set(static_cast<double>(view.active_keys));
  const std::lock_guard lock(scrape_mu_);
  // The engine's reload count is monotonic too: add what it gained.
  reloads_.Increment(static_cast<double>(view.reloads - last_reloads_));
  last_reloads_ = view.reloads;
  if (view.guard) {
    const auto& g = *view.guard;
    // The guard's counters are monotonic: add what they gained since the
    // last scrape, so these stay Prometheus counters.
    fallbacks_.Increment(static_cast<double>(g.fallbacks - last_guard_.fallbacks));
    failures_.Increment(
        static_cast<double>((g.errors + g.timeouts) - (last_guard_.errors + last_guard_.timeouts)));
    last_guard_ = g;
    set_state_gauges(breaker_state_, g.state);
  }
  if (view.proxy) scrape_proxy(*view.proxy);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

void ServiceMetrics::scrape_proxy(const StoreView::Proxy& p) {
  if (proxy_requests_ == nullptr) {
    proxy_requests_ = &prometheus::BuildCounter()
                           .Name("ratelimit_proxy_requests_total")
                           .Help("Proxy mode: requests by what became of them (forwarded, denied "
                                 "by a limit, bypassed, refused while the upstream breaker was open)")
                           .Register(*registry_);
    proxy_upstream_ = &prometheus::BuildCounter()
                           .Name("ratelimit_proxy_upstream_failures_total")
                           .Help("Proxy mode: upstream failures fed to its breaker (kind: error = "
                                 "connection error or timeout, status = a failure status)")
                           .Register(*registry_);
    proxy_breaker_ = &prometheus::BuildGauge()
                          .Name("ratelimit_proxy_breaker_state")
                          .Help("Proxy mode: the upstream breaker's state, 1 for the current one")
                          .Register(*registry_);
  }
  // Cumulative counts in, counter increments out (as for the store guard).
  const auto add = [](prometheus::Family<prometheus::Counter>& family, const char* label,
                      const char* value, std::uint64_t now, std::uint64_t before) {
    family.Add({{label, value}}).Increment(static_cast<double>(now - before));
  };
  add(*proxy_requests_, "outcome", "forwarded", p.forwarded, last_proxy_.forwarded);
  add(*proxy_requests_, "outcome", "denied", p.denied, last_proxy_.denied);
  add(*proxy_requests_, "outcome", "bypassed", p.bypassed, last_proxy_.bypassed);
  add(*proxy_requests_, "outcome", "breaker_open", p.breaker_rejected,
      last_proxy_.breaker_rejected);
  add(*proxy_upstream_, "kind", "error", p.upstream_errors, last_proxy_.upstream_errors);
  add(*proxy_upstream_, "kind", "status", p.upstream_failures, last_proxy_.upstream_failures);
  last_proxy_ = p;
  set_state_gauges(*proxy_breaker_, p.breaker);
}

}  // namespace ratelimitd
