#pragma once
/// @file engine.hpp
/// The policy engine: from "who is calling what" to one atomic decision over
/// every limit that applies (docs/config.md, `/v1/decide` in the HTTP API).

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/attribute_store.hpp"
#include "ratelimit/decision.hpp"
#include "ratelimit/policy/config.hpp"
#include "ratelimit/policy/directory.hpp"
#include "ratelimit/policy/published.hpp"
#include "ratelimit/store.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::policy {

/// A request's attributes; every one is optional (empty = absent).
struct Request {
  std::string_view user = {};
  std::string_view api_key = {};
  std::string_view ip = {};
  std::string_view method = {};
  std::string_view path = {};
  /// Overrides the endpoint's cost (the tier multiplier still applies). 0 = peek.
  std::optional<std::int64_t> cost = std::nullopt;
  /// The caller's tier when the application already knows it (say, from a
  /// token's claims); must name a configured tier. Empty: looked up.
  std::string_view tier = {};
};

/// Longest attribute values accepted (InvalidRequest beyond).
inline constexpr std::size_t kMaxIdentifierBytes = 256;
inline constexpr std::size_t kMaxPathBytes = 4096;
inline constexpr std::size_t kMaxMethodBytes = 16;

/// One limit's part of a decision.
struct CheckResult {
  /// The limit's name: what `scope` in the HTTP API reports.
  std::string scope;
  Decision decision;
  /// A shadow limit: counted, never denies.
  bool shadow = false;
  /// The limit's definition, `window_limit` units per `window` µs (what
  /// `RateLimit-Policy: <window_limit>;w=<window>` reports; a bucket's
  /// `decision.limit` is its burst).
  std::int64_t window_limit = 0;
  Micros window = 0;
};

struct PolicyDecision {
  bool allowed = true;
  /// The limit that decided (denied, or the closest to denying when
  /// admitted); "denylist" or "whitelist" for list decisions; empty when no
  /// limit applied.
  std::string scope;
  /// The caller's tier; empty when no tiers are configured.
  std::string tier;
  /// The cost charged (after the endpoint cost and the tier multiplier).
  std::int64_t cost = 0;
  /// The combined decision of every enforced limit.
  Decision decision;
  bool whitelisted = false;
  bool denylisted = false;
  /// The denylist entry's reason.
  std::string reason;
  /// A shadow limit (or every limit, in global shadow mode) would have denied.
  bool shadow_denied = false;
  /// The matched endpoint rule ("POST /ocr/process"), else "METHOD
  /// normalized-path", else empty when the request named no path.
  std::string endpoint;
  std::vector<CheckResult> checks;
};

struct CompiledPolicy;

/// Decides requests under a policy config; reloadable while deciding.
/// Thread-safe. The store and attribute store must outlive the engine.
class PolicyEngine {
 public:
  /// Throws ConfigError when `config` cannot be compiled (it was not
  /// validated by load_config).
  PolicyEngine(Store& store, AttributeStore& attributes, const Clock& clock, PolicyConfig config);
  ~PolicyEngine();
  PolicyEngine(const PolicyEngine&) = delete;
  PolicyEngine& operator=(const PolicyEngine&) = delete;

  /// Resolves whitelist/denylist, tier, endpoint and cost, then decides every
  /// applicable limit at once through the store (all or none). Throws
  /// InvalidRequest naming a bad attribute (overlong, an ip that is not an
  /// address, a negative cost) before anything is counted, and whatever the
  /// store throws (StoreUnavailable without a GuardedStore).
  [[nodiscard]] PolicyDecision decide(const Request& request);

  /// Swaps in a new config atomically: decisions in flight finish under the
  /// old one, later ones use the new one. Limits whose definition did not
  /// change keep their usage (their store keys do not change). Throws
  /// ConfigError, leaving the old config in force, when the new one changes
  /// what cannot change while running (store settings, the API-key salt).
  void reload(PolicyConfig config);
  /// Loads `path` (load_config_file) and reloads it. A file with any problem
  /// throws ConfigError listing them all and changes nothing.
  void reload_file(const std::filesystem::path& path);

  /// The config in force.
  [[nodiscard]] std::shared_ptr<const PolicyConfig> config() const;
  /// How many reloads succeeded.
  [[nodiscard]] std::uint64_t reloads() const noexcept {
    return reloads_.load(std::memory_order_relaxed);
  }

  /// Runtime records. The tier-changing calls check the tier exists (else
  /// InvalidRequest listing the tiers).
  void assign_tier(IdType type, std::string_view id, std::string_view tier,
                   std::optional<Micros> ttl, std::string_view actor);
  [[nodiscard]] Directory& directory() noexcept { return directory_; }

  /// The store keys of a request's limits (for resetting them), as decide
  /// would build them.
  [[nodiscard]] std::vector<std::string> keys_for(const Request& request);

 private:
  struct Context;
  std::shared_ptr<const CompiledPolicy> compiled() const;

  Store& store_;
  const Clock& clock_;
  Directory directory_;
  Published<CompiledPolicy> policy_;
  std::atomic<std::uint64_t> reloads_{0};
};

}  // namespace ratelimit::policy
