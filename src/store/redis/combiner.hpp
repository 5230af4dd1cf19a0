#pragma once
// Leader/follower combining of concurrent requests into batches (internal).

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <span>
#include <vector>

namespace ratelimit::redis {

/// Turns concurrent calls into batches without a background thread. A caller
/// that finds nobody processing becomes the leader; others queue their item
/// and sleep. The leader processes its own item plus up to `max_batch - 1`
/// queued ones in one go, wakes exactly the callers of that batch, and hands
/// leadership to the first caller still queued, which processes the next
/// batch. Alone, a caller processes its item at once (no thread hop); under
/// load, one batch serves many callers.
///
/// `process(std::span<Item* const>)` must not throw: it records failures in
/// the items themselves.
template <class Item>
class Combiner {
 public:
  template <class Process>
  void submit(Item& item, std::size_t max_batch, Process&& process) {
    Waiter me{&item};
    {
      std::unique_lock lock(mu_);
      if (leader_active_) {
        queue_.push_back(&me);
        me.changed.wait(lock, [&] { return me.state != kWaiting; });
        if (me.state == kDone) return;
      } else {
        leader_active_ = true;
      }
    }
    lead(me, max_batch, process);
  }

 private:
  enum : int { kWaiting = 0, kDone = 1, kLead = 2 };
  struct Waiter {
    Item* item = nullptr;
    int state = kWaiting;             // guarded by mu_; set by a leader
    std::condition_variable changed{};  // its owner waits here (one waiter each: no herd)
  };

  template <class Process>
  void lead(Waiter& me, std::size_t max_batch, Process& process) {
    waiters_.clear();
    items_.clear();
    waiters_.push_back(&me);
    {
      std::lock_guard lock(mu_);
      while (!queue_.empty() && waiters_.size() < max_batch) {
        waiters_.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    for (Waiter* w : waiters_) items_.push_back(w->item);
    process(std::span<Item* const>(items_));
    // States are set and callers woken under mu_: a woken caller returns (and
    // its Waiter and Item die) only after it reacquires mu_, so none is
    // touched after. The next leader cannot start before we release mu_.
    std::lock_guard lock(mu_);
    for (std::size_t i = 1; i < waiters_.size(); ++i) {
      waiters_[i]->state = kDone;
      waiters_[i]->changed.notify_one();
    }
    if (queue_.empty()) {
      leader_active_ = false;
    } else {
      Waiter* next = queue_.front();
      queue_.pop_front();
      next->state = kLead;
      next->changed.notify_one();
    }
  }

  std::mutex mu_;
  std::deque<Waiter*> queue_;  // guarded by mu_
  bool leader_active_ = false;  // guarded by mu_
  std::vector<Waiter*> waiters_;  // leader only
  std::vector<Item*> items_;      // leader only
};

}  // namespace ratelimit::redis
