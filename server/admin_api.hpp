#pragma once
// The admin API (spec/http-api.md "Administration"): bearer-token access,
// runtime tiers, whitelist (identifiers and CIDR ranges), key reset and
// reload; every change is appended to an audit log (JSON lines).

#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "exchange.hpp"
#include "ratelimit/policy/engine.hpp"
#include "ratelimit/store.hpp"

namespace ratelimitd {

/// Appends one JSON object per line to a file (none: changes are only kept
/// in the store's audit trail). Thread-safe.
class AuditLog {
 public:
  /// Opens `path` for appending (empty: no file). Throws std::runtime_error
  /// naming the path when it cannot.
  explicit AuditLog(std::string path);
  /// `{"time": <unix ms>, "actor", "action", "subject", "detail"}`.
  void write(ratelimit::Micros now, std::string_view actor, std::string_view action,
             std::string_view subject, std::string_view detail);
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  std::mutex mu_;
};

struct AdminContext {
  /// The bearer token; empty disables the admin API (403 for every call).
  std::string token;
  ratelimit::policy::PolicyEngine& engine;
  ratelimit::Store& store;
  const ratelimit::Clock& clock;
  AuditLog& audit;
  /// Reloads the policy file; returns the new reload count, throws
  /// ConfigError (nothing changed) or std::runtime_error (no file).
  std::function<std::uint64_t()> reload;
};

/// True for paths under /v1/admin/.
[[nodiscard]] bool is_admin_path(std::string_view path) noexcept;

/// Answers an admin request (`path` without the query; `query` after '?').
[[nodiscard]] HttpReply handle_admin(const HttpRequest& request, std::string_view path,
                                     std::string_view query, AdminContext& context);

/// Compares two secrets in time that depends only on their lengths.
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace ratelimitd
