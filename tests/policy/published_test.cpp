// Published<T>: a thread's copy follows each store, instances are told
// apart by id (not address), and readers on other threads see a new value
// after it is stored (the TSan build runs this with concurrent readers).
#include "ratelimit/policy/published.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace ratelimit::policy {
namespace {

TEST(Published, ThreadCopyFollowsStoresAndTellsInstancesApart) {
  Published<int> a(std::make_shared<const int>(1));
  Published<int> b(std::make_shared<const int>(2));
  EXPECT_EQ(*a.thread_copy(), 1);
  EXPECT_EQ(*b.thread_copy(), 2);
  EXPECT_EQ(*a.thread_copy(), 1) << "one copy per thread: switching instance reloads it";
  a.store(std::make_shared<const int>(3));
  EXPECT_EQ(*a.thread_copy(), 3);
  EXPECT_EQ(*a.load(), 3);

  // A new instance in the same storage is another instance.
  std::optional<Published<int>> slot;
  slot.emplace(std::make_shared<const int>(4));
  EXPECT_EQ(*slot->thread_copy(), 4);
  slot.reset();
  slot.emplace(std::make_shared<const int>(5));
  EXPECT_EQ(*slot->thread_copy(), 5);
}

TEST(Published, AThreadCopyKeepsItsValueAliveAfterANewOneIsStored) {
  Published<int> p(std::make_shared<const int>(7));
  std::weak_ptr<const int> first = p.thread_copy();
  p.store(std::make_shared<const int>(8));
  EXPECT_FALSE(first.expired()) << "the thread's copy holds it until its next thread_copy()";
  EXPECT_EQ(*p.thread_copy(), 8);
  EXPECT_TRUE(first.expired());
}

TEST(Published, ReadersOnOtherThreadsSeeEachStoredValueInOrder) {
  Published<int> p(std::make_shared<const int>(0));
  constexpr int kLast = 2000;
  std::atomic<bool> failed{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      int seen = 0;
      while (seen < kLast) {
        const int now = *p.thread_copy();
        if (now < seen) failed = true;  // values only move forward
        seen = now;
      }
    });
  }
  for (int i = 1; i <= kLast; ++i) p.store(std::make_shared<const int>(i));
  for (auto& r : readers) r.join();
  EXPECT_FALSE(failed.load());
}

}  // namespace
}  // namespace ratelimit::policy
