#pragma once
// ratelimitd's routes: which handler answers which method and path.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "admin_api.hpp"
#include "exchange.hpp"
#include "metrics.hpp"
#include "ratelimit/http/rate_limit_headers.hpp"
#include "ratelimit/policy/engine.hpp"
#include "ratelimit/store.hpp"
#include "ratelimit/telemetry/alerts.hpp"
#include "ratelimit/telemetry/analytics.hpp"
#include "ratelimit/time.hpp"
#include "telemetry_api.hpp"

namespace ratelimitd {

struct ServiceOptions {
  /// The store's URL as given ("memory" or redis://...), shown by /readyz.
  std::string store_url = "memory";
  /// The policy file (/readyz shows it); empty: the embedded empty policy.
  std::string config_path;
  /// --store was given: it overrides the file's store.url, at reloads too.
  bool store_overridden = false;
  /// Rate-limit header styles of /v1/decide's `headers`.
  ratelimit::http::HeaderStyles header_styles;
  /// Bearer token of the admin API; empty disables it.
  std::string admin_token;
  /// JSON-lines audit log of admin changes; empty: none.
  std::string audit_log;
  /// Thresholds of GET /v1/alerts (and the dashboard's alerts).
  ratelimit::telemetry::AlertRules alert_rules = {};
};

/// Routes requests to handlers and keeps the metrics. Thread-safe.
class Service {
 public:
  /// `engine` decides /v1/decide (it uses `store` too).
  Service(ServiceOptions options, std::shared_ptr<ratelimit::Store> store,
          std::shared_ptr<ratelimit::policy::PolicyEngine> engine,
          std::shared_ptr<const ratelimit::Clock> clock);

  /// 404 for an unknown path, 405 (with `Allow`) for a known path and
  /// another method.
  [[nodiscard]] HttpReply handle(const HttpRequest& request);
  /// Where /metrics reads proxy mode's counters (set once, before serving).
  void set_proxy_view(std::function<ServiceMetrics::StoreView::Proxy()> view) {
    proxy_view_ = std::move(view);
  }
  /// Counts a decision made outside `handle` (proxy mode) as `handle`
  /// counts its own: metrics (api "proxy") and analytics. Thread-safe.
  void observe_decision(const DecisionOutcome& outcome, double seconds);
  /// Reloads the policy file (SIGHUP, POST /v1/admin/reload); returns the
  /// reload count. Throws ConfigError (the old config stays in force) or
  /// std::runtime_error when there is no file.
  std::uint64_t reload();

 private:
  HttpReply route(const HttpRequest& request);
  // The failure-mode guard's counters, when the store has one.
  [[nodiscard]] std::optional<ratelimit::GuardedStoreStats> guard_stats() const;
  // A /v1/check or /v1/decide request, timed and counted.
  HttpReply decision(std::string_view api, const HttpRequest& request);
  // A /v1/check request handed to the loop's next batch (a store that
  // prefers batches), or its 400 at once.
  HttpReply batched_check(const HttpRequest& request);

  // Decides the /v1/check requests of one event-loop turn with one
  // Store::decide_batch (one Redis round trip for all of them).
  class CheckBatch final : public BatchRunner {
   public:
    explicit CheckBatch(Service& service) : service_(service) {}
    void run(std::span<BatchJob* const> jobs) override;

   private:
    Service& service_;
  };
  // Counts a decision in the metrics and the analytics.
  void record_decision(std::string_view api, const DecisionOutcome& outcome, double seconds);
  // What GET /readyz reports.
  [[nodiscard]] boost::json::object readiness() const;

  ServiceOptions options_;
  std::shared_ptr<ratelimit::Store> store_;
  std::shared_ptr<ratelimit::policy::PolicyEngine> engine_;
  std::shared_ptr<const ratelimit::Clock> clock_;
  ServiceMetrics metrics_;
  std::function<ServiceMetrics::StoreView::Proxy()> proxy_view_;
  AuditLog audit_;
  AdminContext admin_;
  ratelimit::telemetry::Analytics analytics_;
  TelemetryContext telemetry_;
  CheckBatch check_batch_{*this};
};

}  // namespace ratelimitd
