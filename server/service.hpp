#pragma once
// ratelimitd's routes: which handler answers which method and path.

#include <memory>
#include <optional>
#include <string>

#include "admin_api.hpp"
#include "exchange.hpp"
#include "metrics.hpp"
#include "ratelimit/http/rate_limit_headers.hpp"
#include "ratelimit/policy/engine.hpp"
#include "ratelimit/store.hpp"
#include "ratelimit/time.hpp"

namespace ratelimitd {

struct ServiceOptions {
  /// The store's URL as given ("memory" or redis://...), shown by /readyz.
  std::string store_url = "memory";
  /// The policy file (/readyz shows it); empty: the embedded empty policy.
  std::string config_path;
  /// Rate-limit header styles of /v1/decide's `headers`.
  ratelimit::http::HeaderStyles header_styles;
  /// Bearer token of the admin API; empty disables it.
  std::string admin_token;
  /// JSON-lines audit log of admin changes; empty: none.
  std::string audit_log;
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

  ServiceOptions options_;
  std::shared_ptr<ratelimit::Store> store_;
  std::shared_ptr<ratelimit::policy::PolicyEngine> engine_;
  std::shared_ptr<const ratelimit::Clock> clock_;
  ServiceMetrics metrics_;
  AuditLog audit_;
  AdminContext admin_;
};

}  // namespace ratelimitd
