#include "ratelimit/resilience/behavior_scores.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ratelimit/store.hpp"

namespace ratelimit {
namespace {

constexpr Micros kStart = 1'000 * kMicrosPerMinute;  // an interval boundary

struct BehaviorScoresTest : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kStart);

  // No prior: scores are the raw weighted means, easy to compute by hand.
  static BehaviorScoresConfig raw_config() {
    BehaviorScoresConfig c;
    c.prior_requests = 0;
    return c;
  }
  static void repeat(BehaviorScores& s, const std::string& id, Outcome o, int n) {
    for (int i = 0; i < n; ++i) s.record(id, o);
  }
};

// Wraps a memory store; `failing` makes every put throw like an unreachable Redis.
struct FlakyStore final : AttributeStore {
  std::unique_ptr<AttributeStore> inner = make_memory_attribute_store();
  bool failing = false;
  std::optional<Record> get(std::string_view key, Micros now) override {
    if (failing) throw StoreUnavailable(StoreUnavailable::Kind::connection, "down");
    return inner->get(key, now);
  }
  void put(const Record& r) override {
    if (failing) throw StoreUnavailable(StoreUnavailable::Kind::connection, "down");
    inner->put(r);
  }
  bool erase(std::string_view key, Micros now) override { return inner->erase(key, now); }
  std::vector<Record> list(std::string_view prefix, Micros now) override {
    return inner->list(prefix, now);
  }
  std::size_t purge_expired(Micros now) override { return inner->purge_expired(now); }
  std::uint64_t generation() override { return inner->generation(); }
};

TEST_F(BehaviorScoresTest, ANewIdentifierIsNeutral) {
  BehaviorScoresConfig c;
  c.neutral = 0.625;
  const BehaviorScores scores(c, nullptr, clock);
  const ScoreDetails d = scores.details("new");
  EXPECT_EQ(d.score, 0.625);
  EXPECT_EQ(d.source, ScoreSource::neutral);
  EXPECT_EQ(d.requests, 0u);
}

TEST_F(BehaviorScoresTest, ComponentsOfAConstructedHistory) {
  BehaviorScores scores(raw_config(), nullptr, clock);
  repeat(scores, "u", Outcome::ok(), 6);
  repeat(scores, "u", Outcome::error(), 1);
  repeat(scores, "u", Outcome::rejected(), 2);
  scores.record("u", Outcome::abusive());  // an auth failure: error + abuse
  const ScoreDetails d = scores.details("u");
  EXPECT_EQ(d.source, ScoreSource::local);
  EXPECT_EQ(d.requests, 10u);
  EXPECT_EQ(d.rejected, 2u);
  EXPECT_EQ(d.successes, 6u);
  EXPECT_EQ(d.abuse_events, 1u);
  EXPECT_DOUBLE_EQ(d.rejection_rate, 0.2);
  EXPECT_DOUBLE_EQ(d.success_rate, 0.6);
  EXPECT_EQ(d.consistency, 1.0);  // no completed interval yet
  EXPECT_DOUBLE_EQ(d.abuse_component, 0.8);
  // (0.3 * 0.8 + 0.2 * 0.6 + 0.1 * 1 + 0.4 * 0.8) / 1.0
  EXPECT_NEAR(d.raw, 0.78, 1e-12);
  EXPECT_EQ(d.score, d.raw);
  EXPECT_EQ(scores.score("u"), d.score);
}

TEST_F(BehaviorScoresTest, ConsistencyIsOneMinusTheCoefficientOfVariation) {
  BehaviorScoresConfig c = raw_config();
  c.weights = {0, 0, 1, 0};  // consistency only
  BehaviorScores scores(c, nullptr, clock);
  repeat(scores, "steady", Outcome::ok(), 20);
  repeat(scores, "bursty", Outcome::ok(), 10);
  clock->advance(kMicrosPerMinute);
  repeat(scores, "steady", Outcome::ok(), 20);
  repeat(scores, "bursty", Outcome::ok(), 30);
  // Only completed intervals count: one so far.
  EXPECT_EQ(scores.details("bursty").consistency, 1.0);
  clock->advance(kMicrosPerMinute);
  EXPECT_EQ(scores.score("steady"), 1.0);
  EXPECT_EQ(scores.score("bursty"), 0.5);  // mean 20, stddev 10
  // An idle interval counts too: 10, 30, 0 have mean 40/3 and variance
  // (10^2 + 30^2 + 0^2) / 3 - mean^2.
  clock->advance(kMicrosPerMinute);
  const double mean = 40.0 / 3.0;
  const double cv = std::sqrt(1000.0 / 3.0 - mean * mean) / mean;
  EXPECT_NEAR(scores.score("bursty"), 1.0 - cv, 1e-12);
  // Twenty in one minute and nothing after: CV >= 1 gives 0.
  scores.record("burst-then-quiet", Outcome::ok());
  repeat(scores, "burst-then-quiet", Outcome::ok(), 19);
  clock->advance(3 * kMicrosPerMinute);
  EXPECT_EQ(scores.details("burst-then-quiet").consistency, 0.0);
}

TEST_F(BehaviorScoresTest, ThePriorPullsFewRequestsTowardNeutral) {
  BehaviorScoresConfig c;
  c.prior_requests = 10;
  c.neutral = 0.5;
  BehaviorScores scores(c, nullptr, clock);
  scores.record("u", Outcome::ok());
  EXPECT_NEAR(scores.score("u"), (1.0 + 5.0) / 11.0, 1e-12);
  repeat(scores, "u", Outcome::ok(), 9);
  EXPECT_NEAR(scores.score("u"), 0.75, 1e-12);  // (10 * 1 + 10 * 0.5) / 20
}

TEST_F(BehaviorScoresTest, AbuseDrivesItsComponentToZeroAtTheLimit) {
  BehaviorScoresConfig c = raw_config();
  c.weights = {0, 0, 0, 1};
  c.abuse_limit = 4;
  BehaviorScores scores(c, nullptr, clock);
  for (const double expected : {0.75, 0.5, 0.25, 0.0, 0.0}) {
    scores.record("scanner", Outcome::abusive(RequestResult::success));
    EXPECT_EQ(scores.score("scanner"), expected);
  }
}

TEST_F(BehaviorScoresTest, HistoryLeavesTheWindowAtTheExactInstant) {
  BehaviorScores scores(raw_config(), nullptr, clock);
  repeat(scores, "u", Outcome{RequestResult::rejected, true}, 4);
  const double bad = scores.score("u");
  EXPECT_LT(bad, 0.5);
  clock->set(kStart + 10 * kMicrosPerMinute - 1);  // last µs of the window
  EXPECT_EQ(scores.details("u").requests, 4u);
  EXPECT_EQ(scores.details("u").source, ScoreSource::local);
  // Nine idle minutes after the burst: consistency 0 now, the rest unchanged.
  EXPECT_NEAR(scores.score("u"), bad - 0.1, 1e-12);
  clock->set(kStart + 10 * kMicrosPerMinute);
  EXPECT_EQ(scores.details("u").source, ScoreSource::neutral);
  EXPECT_EQ(scores.score("u"), 0.5);
  scores.record("other", Outcome::ok());  // drops the idle identifier
  EXPECT_EQ(scores.tracked(), 1u);
}

TEST_F(BehaviorScoresTest, EvictsTheLeastRecentlySeen) {
  BehaviorScoresConfig c = raw_config();
  c.max_identifiers = 2;
  BehaviorScores scores(c, nullptr, clock);
  scores.record("a", Outcome::rejected());
  scores.record("b", Outcome::rejected());
  scores.record("a", Outcome::rejected());  // a is now the most recent
  scores.record("c", Outcome::rejected());  // evicts b
  EXPECT_EQ(scores.tracked(), 2u);
  EXPECT_EQ(scores.details("b").source, ScoreSource::neutral);
  EXPECT_EQ(scores.details("a").requests, 2u);
  EXPECT_EQ(scores.details("c").requests, 1u);
}

TEST_F(BehaviorScoresTest, StoreRoundTripBetweenTwoInstances) {
  std::shared_ptr<AttributeStore> store = make_memory_attribute_store();
  BehaviorScores a(BehaviorScoresConfig{}, store, clock);
  BehaviorScores b(BehaviorScoresConfig{}, store, clock);
  repeat(a, "alice", Outcome::ok(), 7);
  repeat(a, "alice", Outcome::rejected(), 3);
  EXPECT_EQ(b.details("alice").source, ScoreSource::neutral);  // not published yet
  EXPECT_EQ(a.flush(), 1u);
  const auto record = store->get("score:alice", clock->now());
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->expires_at, kStart + 10 * kMicrosPerMinute);
  const ScoreDetails seen = b.details("alice");
  EXPECT_EQ(seen.source, ScoreSource::store);
  EXPECT_EQ(seen.score, a.score("alice"));  // bit for bit
  EXPECT_EQ(seen.requests, 10u);
  EXPECT_EQ(a.flush(), 0u);  // nothing new

  // b's own traffic takes precedence over the published score.
  b.record("alice", Outcome::ok());
  EXPECT_EQ(b.details("alice").source, ScoreSource::local);
  EXPECT_EQ(b.details("alice").requests, 1u);

  // The record expires with the window.
  BehaviorScores c(BehaviorScoresConfig{}, store, clock);
  clock->set(kStart + 10 * kMicrosPerMinute - 1);
  EXPECT_EQ(c.details("alice").source, ScoreSource::store);
  clock->set(kStart + 10 * kMicrosPerMinute);
  EXPECT_EQ(c.details("alice").source, ScoreSource::neutral);
}

TEST_F(BehaviorScoresTest, PublishesEveryNRecordsAndOnEviction) {
  std::shared_ptr<AttributeStore> store = make_memory_attribute_store();
  BehaviorScoresConfig c;
  c.publish_every = 3;
  c.max_identifiers = 1;
  BehaviorScores scores(c, store, clock);
  scores.record("a", Outcome::ok());
  scores.record("a", Outcome::ok());
  EXPECT_FALSE(store->get("score:a", clock->now()).has_value());
  scores.record("b", Outcome::ok());  // evicts a (stashed), third record: publishes both
  EXPECT_EQ(store->list("score:", clock->now()).size(), 2u);
  const BehaviorScores reader(BehaviorScoresConfig{}, store, clock);
  EXPECT_EQ(reader.details("a").requests, 2u);
  EXPECT_EQ(reader.details("b").requests, 1u);
}

TEST_F(BehaviorScoresTest, StoreFailuresAreCountedAndRetried) {
  auto store = std::make_shared<FlakyStore>();
  BehaviorScores scores(BehaviorScoresConfig{}, store, clock);
  scores.record("a", Outcome::ok());
  store->failing = true;
  EXPECT_EQ(scores.flush(), 0u);
  EXPECT_EQ(scores.publish_failures(), 1u);
  EXPECT_EQ(scores.score("untracked"), 0.5);  // an unreachable store reads as unknown
  store->failing = false;
  EXPECT_EQ(scores.flush(), 1u);
  EXPECT_TRUE(store->inner->get("score:a", clock->now()).has_value());
}

TEST_F(BehaviorScoresTest, GarbageInTheStoreReadsAsUnknown) {
  std::shared_ptr<AttributeStore> store = make_memory_attribute_store();
  const BehaviorScores scores(BehaviorScoresConfig{}, store, clock);
  for (const char* v : {"", "score=", "score=1.5 requests=3", "score=0.5 requests=-1",
                        "score=0.5 requests=3 extra", "score=nan requests=1", "0.5 3"}) {
    store->put({"score:x", v, std::nullopt});
    EXPECT_EQ(scores.details("x").source, ScoreSource::neutral) << v;
  }
  store->put({"score:x", "score=0.25 requests=3", std::nullopt});
  EXPECT_EQ(scores.score("x"), 0.25);
}

TEST_F(BehaviorScoresTest, TierAdviceFromTheDefaultRules) {
  BehaviorScores scores(BehaviorScoresConfig{}, nullptr, clock);  // prior 5, neutral 0.5
  repeat(scores, "good", Outcome::ok(), 99);
  EXPECT_EQ(
      scores.advice("good", "free"),
      (TierAdvice{"free", "score 0.98 over 99 requests: no rule applies, stay in free", false}));
  scores.record("good", Outcome::ok());
  EXPECT_EQ(scores.advice("good", "free"),
            (TierAdvice{"trusted", "score 0.98 >= 0.9 over 100 requests: free -> trusted", true}));

  repeat(scores, "bad", Outcome{RequestResult::rejected, true}, 10);
  // raw = 0.1 (only consistency is intact); (10 * 0.1 + 5 * 0.5) / 15 = 0.2333
  EXPECT_NEAR(scores.score("bad"), 3.5 / 15.0, 1e-12);
  EXPECT_EQ(
      scores.advice("bad", "free"),
      (TierAdvice{"restricted", "score 0.23 <= 0.3 over 10 requests: free -> restricted", true}));
  EXPECT_EQ(
      scores.advice("bad", "restricted"),
      (TierAdvice{"restricted", "score 0.23 <= 0.3 over 10 requests: stay in restricted", false}));
}

TEST_F(BehaviorScoresTest, RulesApplyToTheirTierInOrder) {
  BehaviorScoresConfig c = raw_config();
  c.rules = {{"free", TierRule::When::at_least, 0.9, 0, "pro"},
             {"pro", TierRule::When::at_least, 0.9, 5, "enterprise"},
             {"pro", TierRule::When::at_most, 0.5, 0, "free"}};
  BehaviorScores scores(c, nullptr, clock);
  repeat(scores, "u", Outcome::ok(), 4);
  EXPECT_EQ(scores.advice("u", "free").tier, "pro");
  EXPECT_EQ(scores.advice("u", "pro").tier, "pro");  // needs 5 requests
  scores.record("u", Outcome::ok());
  EXPECT_EQ(scores.advice("u", "pro").tier, "enterprise");
  EXPECT_EQ(scores.advice("u", "enterprise").tier, "enterprise");  // no rule for it
}

TEST_F(BehaviorScoresTest, ConfigErrorsNameTheFieldAndValue) {
  struct Row {
    void (*edit)(BehaviorScoresConfig&);
    std::string message;
  };
  const Row rows[] = {
      {[](BehaviorScoresConfig& c) { c.interval = 0; },
       "BehaviorScoresConfig.interval must be at least 1 µs, got 0"},
      {[](BehaviorScoresConfig& c) { c.intervals = 0; },
       "BehaviorScoresConfig.intervals must be in 1 .. 1000, got 0"},
      {[](BehaviorScoresConfig& c) { c.weights.success = -1; },
       "BehaviorScoresConfig.weights.success must be finite and >= 0, got -1"},
      {[](BehaviorScoresConfig& c) {
         c.weights = {0, 0, 0, 0};
       },
       "BehaviorScoresConfig.weights must not all be zero"},
      {[](BehaviorScoresConfig& c) { c.neutral = 1.5; },
       "BehaviorScoresConfig.neutral must be in [0, 1], got 1.5"},
      {[](BehaviorScoresConfig& c) { c.prior_requests = -2; },
       "BehaviorScoresConfig.prior_requests must be finite and >= 0, got -2"},
      {[](BehaviorScoresConfig& c) { c.abuse_limit = 0; },
       "BehaviorScoresConfig.abuse_limit must be at least 1, got 0"},
      {[](BehaviorScoresConfig& c) { c.max_identifiers = 0; },
       "BehaviorScoresConfig.max_identifiers must be at least 1, got 0"},
      {[](BehaviorScoresConfig& c) { c.rules[1].score = 2; },
       "BehaviorScoresConfig.rules[1].score must be in [0, 1], got 2"},
      {[](BehaviorScoresConfig& c) { c.rules[0].to.clear(); },
       "BehaviorScoresConfig.rules[0].to must name a tier, got an empty string"},
      {[](BehaviorScoresConfig& c) { c.key_prefix = std::string(65, 'k'); },
       "BehaviorScoresConfig.key_prefix must be at most 64 bytes, got 65"},
  };
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    BehaviorScoresConfig c;
    rows[i].edit(c);
    EXPECT_EQ(BehaviorScores::validate(c), rows[i].message) << "row " << i;
    EXPECT_THROW(BehaviorScores(c, nullptr, clock), std::invalid_argument) << "row " << i;
  }
  EXPECT_EQ(BehaviorScores::validate({}), "");
}

TEST_F(BehaviorScoresTest, IdentifiersMustFitAStoreKey) {
  BehaviorScores scores(BehaviorScoresConfig{}, nullptr, clock);
  EXPECT_EQ(scores.max_identifier_length(), 506u);
  EXPECT_THROW(scores.record("", Outcome::ok()), std::invalid_argument);
  EXPECT_THROW(scores.record(std::string(507, 'x'), Outcome::ok()), std::invalid_argument);
  scores.record(std::string(506, 'x'), Outcome::ok());
  EXPECT_EQ(scores.tracked(), 1u);
}

}  // namespace
}  // namespace ratelimit
