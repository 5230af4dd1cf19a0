#pragma once
/// @file resilience/behavior_scores.hpp
/// A trust score in [0, 1] per identifier, from how its recent requests
/// went; tier advice from it; shared with other instances through an
/// AttributeStore.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/attribute_store.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// How a request ended, as far as scores are concerned.
enum class RequestResult : std::uint8_t {
  success,   ///< Admitted, and the application answered 2xx.
  error,     ///< Admitted, and the application answered anything else.
  rejected,  ///< Refused by the limiter (HTTP 429).
};

/// One recorded request: its result and whether the application flagged it
/// as abusive (an authentication failure, a scan, a malformed payload...).
struct Outcome {
  RequestResult result = RequestResult::success;
  bool abuse = false;

  [[nodiscard]] static constexpr Outcome ok() noexcept { return {RequestResult::success, false}; }
  [[nodiscard]] static constexpr Outcome error() noexcept { return {RequestResult::error, false}; }
  [[nodiscard]] static constexpr Outcome rejected() noexcept {
    return {RequestResult::rejected, false};
  }
  /// A flagged request; `result` is how it ended (an auth failure: error).
  [[nodiscard]] static constexpr Outcome abusive(
      RequestResult result = RequestResult::error) noexcept {
    return {result, true};
  }
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

/// Relative weights of the four score components; each >= 0 and finite, not
/// all zero. Only their ratios matter.
struct ScoreWeights {
  double rejection = 0.3;    ///< On 1 - rejected / requests.
  double success = 0.2;      ///< On successes / requests.
  double consistency = 0.1;  ///< On 1 - min(1, coefficient of variation).
  double abuse = 0.4;        ///< On 1 - min(1, abuse events / abuse_limit).
};

/// One rule of tier advice: an identifier in tier `from` ("" = any tier)
/// whose score is at least (or at most) `score`, with at least
/// `min_requests` requests in the window, is advised to move to `to`.
struct TierRule {
  enum class When : std::uint8_t { at_least, at_most };
  std::string from;
  When when = When::at_least;
  double score = 0;                ///< 0 .. 1.
  std::uint64_t min_requests = 0;  ///< Requests in the window needed for the rule to apply.
  std::string to;                  ///< Non-empty.
};

/// BehaviorScores settings.
struct BehaviorScoresConfig {
  /// The window is `intervals` consecutive intervals of `interval` µs (the
  /// current one included); counts older than that are forgotten.
  Micros interval = kMicrosPerMinute;  ///< > 0.
  int intervals = 10;                  ///< 1 .. 1000.
  ScoreWeights weights;
  /// Score of an identifier with no request in the window, 0 .. 1.
  double neutral = 0.5;
  /// How many requests' worth of weight the neutral score keeps: the score
  /// is (n * raw + prior_requests * neutral) / (n + prior_requests), so a new
  /// identifier starts at neutral and earns its score. >= 0, finite.
  double prior_requests = 5;
  /// Abuse events in the window that bring the abuse component to 0; >= 1.
  std::uint64_t abuse_limit = 5;
  /// Identifiers tracked at most; beyond, the least recently seen is
  /// evicted. >= 1. About 500 bytes each with 10 intervals.
  std::size_t max_identifiers = 100'000;
  /// Tier advice rules, tried in order; the first that applies wins.
  std::vector<TierRule> rules = {
      {"", TierRule::When::at_most, 0.3, 0, "restricted"},
      {"", TierRule::When::at_least, 0.9, 100, "trusted"},
  };
  /// Publish to the store after every this many records (0: only on flush).
  std::uint64_t publish_every = 0;
  /// Store key of an identifier's score: key_prefix + id. At most 64 bytes.
  std::string key_prefix = "score:";
};

/// Where a score came from.
enum class ScoreSource : std::uint8_t {
  local,    ///< This instance's own window.
  store,    ///< Another instance, through the AttributeStore.
  neutral,  ///< Nobody has seen the identifier within the window.
};

/// A score and what it is made of. For ScoreSource::store only `score` and
/// `requests` are known (the rest are 0); for neutral all counts are 0.
struct ScoreDetails {
  double score = 0;            ///< What score() returns, 0 .. 1.
  double raw = 0;              ///< Weighted mean of the components, before the prior.
  double rejection_rate = 0;   ///< rejected / requests.
  double success_rate = 0;     ///< successes / requests.
  double consistency = 0;      ///< 1 - min(1, CV of per-interval request counts).
  double abuse_component = 0;  ///< 1 - min(1, abuse_events / abuse_limit).
  std::uint64_t requests = 0;  ///< In the window.
  std::uint64_t rejected = 0;
  std::uint64_t successes = 0;
  std::uint64_t abuse_events = 0;
  ScoreSource source = ScoreSource::neutral;
};

/// What advice() recommends: a tier (possibly the current one) and why.
struct TierAdvice {
  std::string tier;
  std::string reason;    ///< e.g. "score 0.95 >= 0.9 over 150 requests: free -> trusted".
  bool changed = false;  ///< tier differs from the current tier.
  friend bool operator==(const TierAdvice&, const TierAdvice&) = default;
};

/// Per-identifier trust scores over a sliding window (see
/// docs/resilience/load-and-behaviour.md for the formula).
///
/// For identifier x with n requests in the window (n > 0):
///
///     raw   = (w_r (1 - rejected/n) + w_s successes/n + w_c consistency
///              + w_a (1 - min(1, abuse/abuse_limit))) / (w_r + w_s + w_c + w_a)
///     score = (n raw + prior_requests neutral) / (n + prior_requests)
///
/// consistency = 1 - min(1, stddev / mean) of the request counts of the
/// window's completed intervals since x was first seen (1 with fewer than
/// two such intervals or none with requests). With n = 0 the score is the
/// store's published one, or `neutral`.
///
/// Memory is bounded: at most max_identifiers are tracked (the least
/// recently seen is evicted), and an identifier with no request for a whole
/// window is dropped.
///
/// Sharing: flush(now) publishes the score of every identifier recorded
/// since the previous flush to `store` (if any) as "<key_prefix><id>" ->
/// "score=<s> requests=<n>", expiring at now + window. score() of an
/// identifier not tracked here reads that record. Store failures are never
/// thrown from flush or score: they count in publish_failures() (the
/// records are retried on the next flush) or read as "not in the store".
///
/// Thread-safe (one mutex; store calls are made outside it). Throws
/// std::invalid_argument, naming the field and value, for a bad config, an
/// empty identifier, or one longer than max_identifier_length().
class BehaviorScores {
 public:
  /// `store` may be null (scores stay local). `clock` defaults to the system
  /// clock.
  explicit BehaviorScores(BehaviorScoresConfig config = {},
                          std::shared_ptr<AttributeStore> store = nullptr,
                          std::shared_ptr<const Clock> clock = nullptr);
  ~BehaviorScores();
  BehaviorScores(const BehaviorScores&) = delete;
  BehaviorScores& operator=(const BehaviorScores&) = delete;

  /// Counts one request of `id` at the clock's now.
  void record(std::string_view id, Outcome outcome);
  /// The score of `id` now, 0 .. 1.
  [[nodiscard]] double score(std::string_view id) const;
  /// The score and its components.
  [[nodiscard]] ScoreDetails details(std::string_view id) const;
  /// The first rule (config order) that applies to `id` in `current_tier`,
  /// or `current_tier` with the reason none did.
  [[nodiscard]] TierAdvice advice(std::string_view id, std::string_view current_tier) const;

  /// Publishes pending scores as of `now` (see the class comment); returns
  /// how many records were written.
  std::size_t flush(Micros now);
  /// flush(clock now).
  std::size_t flush();

  /// Identifiers tracked locally now.
  [[nodiscard]] std::size_t tracked() const;
  /// Store writes that failed (each retried on a later flush).
  [[nodiscard]] std::uint64_t publish_failures() const;
  /// Longest identifier accepted: AttributeStore::kMaxKeyLength minus the
  /// key prefix.
  [[nodiscard]] std::size_t max_identifier_length() const noexcept;
  [[nodiscard]] const BehaviorScoresConfig& config() const noexcept;

  /// The config's first problem, or an empty string when valid.
  [[nodiscard]] static std::string validate(const BehaviorScoresConfig& config);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ratelimit
