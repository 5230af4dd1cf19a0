#pragma once
// The LeaseStore contract (include/ratelimit/resilience/lease_store.hpp) as a
// typed GoogleTest suite that every implementation instantiates:
//
//   struct MyTraits {
//     static void set_up_suite();      // once per suite (start servers...)
//     static void tear_down_suite();
//     static std::unique_ptr<LeaseStore> make();  // a store with no leases
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Mine, LeaseStoreContract, MyTraits);

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "ratelimit/resilience/lease_store.hpp"

namespace ratelimit::testing {

inline constexpr Micros kLeaseT0 = 1'800'000'000'000'000;  // an instant in 2027
inline constexpr Micros kLeaseTtl = 30 * kMicrosPerSecond;

template <class Traits>
class LeaseStoreContract : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { Traits::set_up_suite(); }
  static void TearDownTestSuite() { Traits::tear_down_suite(); }
  void SetUp() override { store_ = Traits::make(); }

  LeaseStore& store() { return *store_; }

  // Expects `fn` to throw InvalidRequest whose message contains `words`.
  template <class Fn>
  static void expect_invalid(Fn&& fn, const std::string& words) {
    try {
      fn();
      ADD_FAILURE() << "no exception; expected InvalidRequest mentioning '" << words << "'";
    } catch (const InvalidRequest& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos)
          << "message '" << e.what() << "' does not mention '" << words << "'";
    }
  }

 private:
  std::unique_ptr<LeaseStore> store_;
};

TYPED_TEST_SUITE_P(LeaseStoreContract);

TYPED_TEST_P(LeaseStoreContract, LimitIsEnforcedPerKey) {
  LeaseStore& s = this->store();
  EXPECT_EQ(s.in_flight("user:1", kLeaseT0), 0);
  EXPECT_TRUE(s.acquire("user:1", 2, "a", kLeaseT0, kLeaseTtl));
  EXPECT_TRUE(s.acquire("user:1", 2, "b", kLeaseT0, kLeaseTtl));
  EXPECT_FALSE(s.acquire("user:1", 2, "c", kLeaseT0, kLeaseTtl)) << "third lease over limit 2";
  EXPECT_EQ(s.in_flight("user:1", kLeaseT0), 2);
  EXPECT_TRUE(s.acquire("user:2", 2, "c", kLeaseT0, kLeaseTtl)) << "another key has its own slots";
  EXPECT_EQ(s.in_flight("user:2", kLeaseT0), 1);
  EXPECT_TRUE(s.acquire("user:1", 3, "c", kLeaseT0, kLeaseTtl)) << "a higher limit admits more";
  EXPECT_FALSE(s.acquire("user:1", 1, "d", kLeaseT0, kLeaseTtl))
      << "a lower limit refuses while more are out";
  EXPECT_EQ(s.in_flight("user:1", kLeaseT0), 3) << "lowering the limit revokes nothing";
}

TYPED_TEST_P(LeaseStoreContract, ReleaseFreesTheSlot) {
  LeaseStore& s = this->store();
  ASSERT_TRUE(s.acquire("k", 1, "a", kLeaseT0, kLeaseTtl));
  ASSERT_FALSE(s.acquire("k", 1, "b", kLeaseT0, kLeaseTtl));
  s.release("k", "a");
  EXPECT_EQ(s.in_flight("k", kLeaseT0), 0);
  EXPECT_TRUE(s.acquire("k", 1, "b", kLeaseT0, kLeaseTtl));
  s.release("k", "a");  // again: a no-op, b keeps its slot
  s.release("k", "never-taken");
  s.release("other-key", "b");
  EXPECT_EQ(s.in_flight("k", kLeaseT0), 1);
  EXPECT_FALSE(s.acquire("k", 1, "c", kLeaseT0, kLeaseTtl));
}

TYPED_TEST_P(LeaseStoreContract, CrashedLeaseFreesItsSlotExactlyAtExpiry) {
  LeaseStore& s = this->store();
  ASSERT_TRUE(s.acquire("k", 1, "crashed", kLeaseT0, kLeaseTtl));  // never released
  const Micros expiry = kLeaseT0 + kLeaseTtl;
  EXPECT_FALSE(s.acquire("k", 1, "b", expiry - 1, kLeaseTtl)) << "1 µs before expiry: still held";
  EXPECT_EQ(s.in_flight("k", expiry - 1), 1);
  EXPECT_EQ(s.in_flight("k", expiry), 0) << "at expiry the lease is gone";
  EXPECT_TRUE(s.acquire("k", 1, "b", expiry, kLeaseTtl));
  EXPECT_EQ(s.in_flight("k", expiry), 1);
  EXPECT_FALSE(s.renew("k", "crashed", expiry, kLeaseTtl)) << "an expired lease cannot come back";
  EXPECT_EQ(s.in_flight("k", expiry), 1);
}

TYPED_TEST_P(LeaseStoreContract, RenewExtendsALiveLease) {
  LeaseStore& s = this->store();
  ASSERT_TRUE(s.acquire("k", 1, "a", kLeaseT0, kLeaseTtl));
  const Micros renewed_at = kLeaseT0 + kLeaseTtl - 1;  // the last live instant
  EXPECT_TRUE(s.renew("k", "a", renewed_at, kLeaseTtl));
  const Micros expiry = renewed_at + kLeaseTtl;
  EXPECT_EQ(s.in_flight("k", kLeaseT0 + kLeaseTtl), 1) << "past the first expiry, still live";
  EXPECT_FALSE(s.acquire("k", 1, "b", expiry - 1, kLeaseTtl));
  EXPECT_TRUE(s.acquire("k", 1, "b", expiry, kLeaseTtl)) << "free at the renewed expiry";
  EXPECT_FALSE(s.renew("k", "a", expiry, kLeaseTtl));
  EXPECT_FALSE(s.renew("k", "unknown", expiry, kLeaseTtl));
  EXPECT_FALSE(s.renew("no-such-key", "b", expiry, kLeaseTtl));
  s.release("k", "b");
  EXPECT_FALSE(s.renew("k", "b", expiry, kLeaseTtl)) << "released leases cannot be renewed";
}

TYPED_TEST_P(LeaseStoreContract, ReacquireWithTheSameIdCountsOnce) {
  LeaseStore& s = this->store();
  ASSERT_TRUE(s.acquire("k", 2, "a", kLeaseT0, kLeaseTtl));
  EXPECT_TRUE(s.acquire("k", 2, "a", kLeaseT0 + 10, kLeaseTtl)) << "a retried acquire";
  EXPECT_EQ(s.in_flight("k", kLeaseT0 + 10), 1);
  ASSERT_TRUE(s.acquire("k", 2, "b", kLeaseT0 + 10, kLeaseTtl));
  EXPECT_TRUE(s.acquire("k", 2, "a", kLeaseT0 + 20, kLeaseTtl))
      << "the holder of a lease is never refused its own slot, even when full";
  EXPECT_EQ(s.in_flight("k", kLeaseT0 + kLeaseTtl + 19), 1) << "a's expiry moved to T0+20+ttl";
  EXPECT_EQ(s.in_flight("k", kLeaseT0 + kLeaseTtl + 20), 0);
}

TYPED_TEST_P(LeaseStoreContract, ExpiredLeasesDoNotCountAgainstTheLimit) {
  LeaseStore& s = this->store();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.acquire("k", 3, "old" + std::to_string(i), kLeaseT0 + i, kLeaseTtl));
  }
  // At T0 + ttl + 1 the first two have expired (expiry T0+ttl and T0+1+ttl).
  const Micros t = kLeaseT0 + kLeaseTtl + 1;
  EXPECT_EQ(s.in_flight("k", t), 1);
  EXPECT_TRUE(s.acquire("k", 3, "new0", t, kLeaseTtl));
  EXPECT_TRUE(s.acquire("k", 3, "new1", t, kLeaseTtl));
  EXPECT_FALSE(s.acquire("k", 3, "new2", t, kLeaseTtl));
}

TYPED_TEST_P(LeaseStoreContract, KeysAndIdsAreBytes) {
  LeaseStore& s = this->store();
  const std::string odd_key = std::string("a{b}c\0d", 7);
  const std::string odd_id = std::string("id \xff\0x", 6);
  ASSERT_TRUE(s.acquire(odd_key, 1, odd_id, kLeaseT0, kLeaseTtl));
  EXPECT_FALSE(s.acquire(odd_key, 1, "other", kLeaseT0, kLeaseTtl));
  EXPECT_EQ(s.in_flight(std::string("a{b}c", 5), kLeaseT0), 0) << "a different key";
  EXPECT_TRUE(s.renew(odd_key, odd_id, kLeaseT0 + 1, kLeaseTtl));
  s.release(odd_key, odd_id);
  EXPECT_EQ(s.in_flight(odd_key, kLeaseT0), 0);
  const std::string longest(LeaseStore::kMaxKeyLength, 'x');
  EXPECT_TRUE(
      s.acquire(longest, 1, std::string(LeaseStore::kMaxLeaseIdLength, 'i'), kLeaseT0, kLeaseTtl));
}

TYPED_TEST_P(LeaseStoreContract, BadInputThrowsBeforeAnythingChanges) {
  LeaseStore& s = this->store();
  using Self = TestFixture;
  Self::expect_invalid([&] { (void)s.acquire("", 1, "a", kLeaseT0, kLeaseTtl); }, "key");
  Self::expect_invalid(
      [&] {
        (void)s.acquire(std::string(LeaseStore::kMaxKeyLength + 1, 'x'), 1, "a", kLeaseT0,
                        kLeaseTtl);
      },
      "513 bytes");
  Self::expect_invalid([&] { (void)s.acquire("k", 0, "a", kLeaseT0, kLeaseTtl); }, "limit");
  Self::expect_invalid([&] { (void)s.acquire("k", -3, "a", kLeaseT0, kLeaseTtl); }, "got -3");
  Self::expect_invalid([&] { (void)s.acquire("k", 1, "a", kLeaseT0, 0); }, "ttl");
  Self::expect_invalid([&] { (void)s.acquire("k", 1, "a", kLeaseT0, -5); }, "got -5");
  Self::expect_invalid([&] { (void)s.acquire("k", 1, "", kLeaseT0, kLeaseTtl); }, "lease id");
  Self::expect_invalid(
      [&] {
        (void)s.acquire("k", 1, std::string(LeaseStore::kMaxLeaseIdLength + 1, 'i'), kLeaseT0,
                        kLeaseTtl);
      },
      "lease id");
  Self::expect_invalid([&] { (void)s.acquire("k", 1, "a", -1, kLeaseTtl); }, "instant -1");
  Self::expect_invalid([&] { (void)s.acquire("k", 1, "a", kMaxInstant, 1); }, "now + ttl");
  Self::expect_invalid([&] { s.release("", "a"); }, "key");
  Self::expect_invalid([&] { s.release("k", ""); }, "lease id");
  Self::expect_invalid([&] { (void)s.renew("", "a", kLeaseT0, kLeaseTtl); }, "key");
  Self::expect_invalid([&] { (void)s.renew("k", "a", kLeaseT0, 0); }, "ttl");
  Self::expect_invalid([&] { (void)s.in_flight("", kLeaseT0); }, "key");
  Self::expect_invalid([&] { (void)s.in_flight("k", kMaxInstant + 1); }, "instant");
  // InvalidRequest is a std::invalid_argument.
  EXPECT_THROW((void)s.acquire("k", 0, "a", kLeaseT0, kLeaseTtl), std::invalid_argument);
  EXPECT_EQ(s.in_flight("k", kLeaseT0), 0) << "nothing was taken";
}

REGISTER_TYPED_TEST_SUITE_P(LeaseStoreContract, LimitIsEnforcedPerKey, ReleaseFreesTheSlot,
                            CrashedLeaseFreesItsSlotExactlyAtExpiry, RenewExtendsALiveLease,
                            ReacquireWithTheSameIdCountsOnce,
                            ExpiredLeasesDoNotCountAgainstTheLimit, KeysAndIdsAreBytes,
                            BadInputThrowsBeforeAnythingChanges);

}  // namespace ratelimit::testing
