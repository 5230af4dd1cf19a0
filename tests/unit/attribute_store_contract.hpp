#pragma once
// The AttributeStore contract (include/ratelimit/attribute_store.hpp) as a
// typed GoogleTest suite that every implementation instantiates:
//
//   struct MyTraits {
//     static void set_up_suite();      // once per suite (start servers...)
//     static void tear_down_suite();
//     static std::unique_ptr<AttributeStore> make();  // a store with no records
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Mine, AttributeStoreContract, MyTraits);

#include <gtest/gtest.h>

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ratelimit/attribute_store.hpp"

namespace ratelimit::testing {

inline constexpr Micros kAttrT0 = 1'800'000'000'000'000;  // an instant in 2027

template <class Traits>
class AttributeStoreContract : public ::testing::Test {
 protected:
  using Record = AttributeStore::Record;

  static void SetUpTestSuite() { Traits::set_up_suite(); }
  static void TearDownTestSuite() { Traits::tear_down_suite(); }
  void SetUp() override { store_ = Traits::make(); }

  static Record rec(std::string key, std::string value, std::optional<Micros> expires_at = {}) {
    return Record{std::move(key), std::move(value), expires_at};
  }
  static std::vector<std::string> keys_of(const std::vector<Record>& records) {
    std::vector<std::string> keys;
    for (const Record& r : records) keys.push_back(r.key);
    return keys;
  }

  AttributeStore& store() { return *store_; }

 private:
  std::unique_ptr<AttributeStore> store_;
};

TYPED_TEST_SUITE_P(AttributeStoreContract);

TYPED_TEST_P(AttributeStoreContract, PutThenGet) {
  AttributeStore& s = this->store();
  EXPECT_EQ(s.get("tier:user:1", kAttrT0), std::nullopt);
  const auto forever = this->rec("tier:user:1", "gold");
  const auto until = this->rec("tier:user:2", "silver", kAttrT0 + kMicrosPerHour);
  s.put(forever);
  s.put(until);
  EXPECT_EQ(s.get("tier:user:1", kAttrT0), forever);
  EXPECT_EQ(s.get("tier:user:2", kAttrT0), until);
  EXPECT_EQ(s.get("tier:user:3", kAttrT0), std::nullopt);
}

TYPED_TEST_P(AttributeStoreContract, PutReplacesValueAndExpiry) {
  AttributeStore& s = this->store();
  s.put(this->rec("k", "first", kAttrT0 + 10));
  const auto second = this->rec("k", "second");
  s.put(second);
  EXPECT_EQ(s.get("k", kAttrT0 + 10), second) << "the new record has no expiry";
  const auto third = this->rec("k", "", kAttrT0 + 5);
  s.put(third);
  EXPECT_EQ(s.get("k", kAttrT0), third) << "an empty value is a value";
  EXPECT_EQ(s.list("", kAttrT0).size(), 1u);
}

TYPED_TEST_P(AttributeStoreContract, EraseReportsWhetherALiveRecordExisted) {
  AttributeStore& s = this->store();
  s.put(this->rec("a", "1"));
  s.put(this->rec("b", "2"));
  EXPECT_TRUE(s.erase("a", kAttrT0));
  EXPECT_EQ(s.get("a", kAttrT0), std::nullopt);
  EXPECT_FALSE(s.erase("a", kAttrT0)) << "already erased";
  EXPECT_FALSE(s.erase("never-there", kAttrT0));
  EXPECT_EQ(this->keys_of(s.list("", kAttrT0)), (std::vector<std::string>{"b"}));
}

TYPED_TEST_P(AttributeStoreContract, ListFiltersByPrefixAndSortsByKey) {
  AttributeStore& s = this->store();
  for (const char* k :
       {"tier:b", "tier:a", "tiers", "tier:", "deny:10.0.0.1", "tier:a:x", "allow"}) {
    s.put(this->rec(k, std::string("v-") + k));
  }
  EXPECT_EQ(this->keys_of(s.list("tier:", kAttrT0)),
            (std::vector<std::string>{"tier:", "tier:a", "tier:a:x", "tier:b"}));
  EXPECT_EQ(this->keys_of(s.list("", kAttrT0)),
            (std::vector<std::string>{"allow", "deny:10.0.0.1", "tier:", "tier:a", "tier:a:x",
                                      "tier:b", "tiers"}));
  EXPECT_EQ(this->keys_of(s.list("tier:a:x", kAttrT0)), (std::vector<std::string>{"tier:a:x"}));
  EXPECT_TRUE(s.list("nothing", kAttrT0).empty());
  const auto listed = s.list("deny:", kAttrT0);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0], this->rec("deny:10.0.0.1", "v-deny:10.0.0.1"));
}

TYPED_TEST_P(AttributeStoreContract, PrefixesAreLiteralBytes) {
  // Glob and regex metacharacters in a prefix match only themselves.
  AttributeStore& s = this->store();
  for (const char* k : {"g*[x]?\\1", "g*[x]?\\2", "g*[y]?\\1", "gX[x]?\\1", "g*x", "g.*"}) {
    s.put(this->rec(k, "v"));
  }
  EXPECT_EQ(this->keys_of(s.list("g*[x]?\\", kAttrT0)),
            (std::vector<std::string>{"g*[x]?\\1", "g*[x]?\\2"}));
  EXPECT_EQ(this->keys_of(s.list("g*", kAttrT0)),
            (std::vector<std::string>{"g*[x]?\\1", "g*[x]?\\2", "g*[y]?\\1", "g*x"}));
  EXPECT_EQ(this->keys_of(s.list("g.", kAttrT0)), (std::vector<std::string>{"g.*"}));
}

TYPED_TEST_P(AttributeStoreContract, SortsBytewiseUnsigned) {
  AttributeStore& s = this->store();
  const std::string high = "k\xff";
  const std::string nul("k\0z", 3);
  for (const std::string& k : {high, std::string("ka"), nul, std::string("k")}) {
    s.put(this->rec(k, "v"));
  }
  EXPECT_EQ(this->keys_of(s.list("k", kAttrT0)), (std::vector<std::string>{"k", nul, "ka", high}));
}

TYPED_TEST_P(AttributeStoreContract, RecordExpiresAtExactlyItsInstant) {
  AttributeStore& s = this->store();
  constexpr Micros kT = kAttrT0 + 5 * kMicrosPerSecond;
  const auto expiring = this->rec("exp", "v", kT);
  s.put(expiring);
  s.put(this->rec("stay", "v"));
  struct Row {
    Micros now;
    bool live;
  };
  const Row rows[] = {{kAttrT0, true}, {kT - 1, true}, {kT, false}, {kT + 1, false}};
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    const Row& r = rows[i];
    EXPECT_EQ(s.get("exp", r.now).has_value(), r.live) << "row " << i;
    EXPECT_EQ(s.list("", r.now).size(), r.live ? 2u : 1u) << "row " << i;
    EXPECT_EQ(s.list("ex", r.now).size(), r.live ? 1u : 0u) << "row " << i;
  }
  EXPECT_EQ(s.get("exp", kT - 1), expiring);
  // Expired, so erase finds nothing live (and removes the remains).
  EXPECT_FALSE(s.erase("exp", kT));
  EXPECT_EQ(s.get("exp", kT - 1), std::nullopt);
}

TYPED_TEST_P(AttributeStoreContract, ExpiryAtInstantZeroIsAlreadyExpired) {
  AttributeStore& s = this->store();
  s.put(this->rec("zero", "v", Micros{0}));
  EXPECT_EQ(s.get("zero", 0), std::nullopt);
  EXPECT_EQ(s.get("zero", kAttrT0), std::nullopt);
  s.put(this->rec("max", "v", kMaxInstant));
  EXPECT_EQ(s.get("max", kMaxInstant - 1), this->rec("max", "v", kMaxInstant));
  EXPECT_EQ(s.get("max", kMaxInstant), std::nullopt);
}

TYPED_TEST_P(AttributeStoreContract, PurgeExpiredDeletesAndCounts) {
  AttributeStore& s = this->store();
  constexpr Micros kT = kAttrT0 + kMicrosPerMinute;
  s.put(this->rec("a", "1", kT));
  s.put(this->rec("b", "2", kT));
  s.put(this->rec("c", "3", kT + 10));
  s.put(this->rec("d", "4"));
  const std::uint64_t g0 = s.generation();
  EXPECT_EQ(s.purge_expired(kT - 1), 0u);
  EXPECT_EQ(s.generation(), g0) << "nothing purged, nothing changed";
  EXPECT_EQ(s.purge_expired(kT), 2u);
  const std::uint64_t g1 = s.generation();
  EXPECT_GT(g1, g0);
  // Gone for good: not even an earlier `now` sees them.
  EXPECT_EQ(s.get("a", kAttrT0), std::nullopt);
  EXPECT_EQ(this->keys_of(s.list("", kAttrT0)), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(s.purge_expired(kT), 0u);
  EXPECT_EQ(s.generation(), g1);
  EXPECT_EQ(s.purge_expired(kT + 10), 1u);
  EXPECT_GT(s.generation(), g1);
  EXPECT_EQ(this->keys_of(s.list("", kAttrT0)), (std::vector<std::string>{"d"}));
}

TYPED_TEST_P(AttributeStoreContract, GenerationAdvancesOnEveryChangeOnly) {
  AttributeStore& s = this->store();
  std::uint64_t g = s.generation();
  EXPECT_EQ(s.generation(), g) << "reading the generation is not a change";
  auto advanced = [&](const char* what) {
    const std::uint64_t now = s.generation();
    EXPECT_GT(now, g) << what;
    g = now;
  };
  auto unchanged = [&](const char* what) { EXPECT_EQ(s.generation(), g) << what; };

  s.put(this->rec("k", "v1"));
  advanced("put of a new key");
  s.put(this->rec("k", "v2"));
  advanced("put replacing a record");
  s.put(this->rec("k", "v2"));
  advanced("put of an identical record (still a put)");
  (void)s.get("k", kAttrT0);
  (void)s.get("missing", kAttrT0);
  (void)s.list("", kAttrT0);
  (void)s.list("k", kAttrT0);
  unchanged("get and list");
  EXPECT_FALSE(s.erase("missing", kAttrT0));
  unchanged("erase of a missing key");
  EXPECT_TRUE(s.erase("k", kAttrT0));
  advanced("erase");
  s.put(this->rec("old", "v", kAttrT0));
  advanced("put of a record expiring at kAttrT0");
  EXPECT_FALSE(s.erase("old", kAttrT0));
  unchanged("erase of an expired record");
  EXPECT_EQ(s.purge_expired(kAttrT0), 0u);
  unchanged("purge with nothing to purge");
}

TYPED_TEST_P(AttributeStoreContract, InvalidInputThrowsAndChangesNothing) {
  AttributeStore& s = this->store();
  s.put(this->rec("keep", "v"));
  const std::uint64_t g = s.generation();
  const std::string longest(AttributeStore::kMaxKeyLength, 'k');
  const std::string too_long(AttributeStore::kMaxKeyLength + 1, 'k');
  const std::string biggest(AttributeStore::kMaxValueLength, 'v');
  const std::string too_big(AttributeStore::kMaxValueLength + 1, 'v');

  EXPECT_THROW(s.put(this->rec("", "v")), InvalidRequest);
  EXPECT_THROW(s.put(this->rec(too_long, "v")), InvalidRequest);
  EXPECT_THROW(s.put(this->rec("k", too_big)), InvalidRequest);
  EXPECT_THROW(s.put(this->rec("k", "v", Micros{-1})), InvalidRequest);
  EXPECT_THROW(s.put(this->rec("k", "v", kMaxInstant + 1)), InvalidRequest);
  EXPECT_THROW((void)s.get("", kAttrT0), InvalidRequest);
  EXPECT_THROW((void)s.get(too_long, kAttrT0), InvalidRequest);
  EXPECT_THROW((void)s.get("keep", -1), InvalidRequest);
  EXPECT_THROW((void)s.erase("", kAttrT0), InvalidRequest);
  EXPECT_THROW((void)s.erase(too_long, kAttrT0), InvalidRequest);
  EXPECT_THROW((void)s.erase("keep", kMaxInstant + 1), InvalidRequest);
  EXPECT_THROW((void)s.list("", -1), InvalidRequest);
  EXPECT_THROW((void)s.purge_expired(-1), InvalidRequest);
  EXPECT_EQ(s.generation(), g);
  EXPECT_EQ(this->keys_of(s.list("", kAttrT0)), (std::vector<std::string>{"keep"}));

  // The limits themselves are fine.
  s.put(this->rec(longest, biggest));
  EXPECT_EQ(s.get(longest, kAttrT0), this->rec(longest, biggest));
}

TYPED_TEST_P(AttributeStoreContract, KeysAndValuesAreBinarySafe) {
  AttributeStore& s = this->store();
  const std::string value("a\0b\xff\xfe\x80\xc3\x28\0", 9);  // NULs, invalid UTF-8
  const std::string key("bin:\0\xff\x80", 7);
  const auto r = this->rec(key, value, kAttrT0 + 1);
  s.put(r);
  EXPECT_EQ(s.get(key, kAttrT0), r);
  EXPECT_EQ(s.get(std::string("bin:"), kAttrT0), std::nullopt) << "the key is not cut at its NUL";
  const auto listed = s.list(std::string("bin:\0", 5), kAttrT0);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0], r);
  EXPECT_EQ(listed[0].value.size(), 9u);
  EXPECT_TRUE(s.erase(key, kAttrT0));
}

TYPED_TEST_P(AttributeStoreContract, ConcurrentPutsFromFourThreadsAreAllVisible) {
  AttributeStore& s = this->store();
  s.put(this->rec("baseline", "v"));
  const std::uint64_t g0 = s.generation();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&s, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = std::to_string(t) + ":" + std::to_string(i);
        s.put(AttributeStore::Record{"c:" + id, "value " + id, std::nullopt});
      }
    });
  }
  for (std::thread& th : threads) th.join();
  const auto all = s.list("c:", kAttrT0);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (const auto& r : all) EXPECT_EQ(r.value, "value " + r.key.substr(2));
  EXPECT_GE(s.generation() - g0, static_cast<std::uint64_t>(kThreads * kPerThread));
}

REGISTER_TYPED_TEST_SUITE_P(AttributeStoreContract, PutThenGet, PutReplacesValueAndExpiry,
                            EraseReportsWhetherALiveRecordExisted, ListFiltersByPrefixAndSortsByKey,
                            PrefixesAreLiteralBytes, SortsBytewiseUnsigned,
                            RecordExpiresAtExactlyItsInstant, ExpiryAtInstantZeroIsAlreadyExpired,
                            PurgeExpiredDeletesAndCounts, GenerationAdvancesOnEveryChangeOnly,
                            InvalidInputThrowsAndChangesNothing, KeysAndValuesAreBinarySafe,
                            ConcurrentPutsFromFourThreadsAreAllVisible);

}  // namespace ratelimit::testing
