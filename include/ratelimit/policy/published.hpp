#pragma once
/// @file published.hpp
/// An immutable value that readers take and writers replace whole (the
/// config in force, the runtime-record snapshot).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace ratelimit::policy {

/// Readers get a shared_ptr that keeps their copy alive while a writer
/// publishes the next one. A mutex guards only the pointer copy (tens of ns):
/// libstdc++ 12's std::atomic<std::shared_ptr> is lock-based as well, and
/// ThreadSanitizer cannot follow its internal lock bit. Hot readers use
/// thread_copy(), which touches no line a writer or another reader writes
/// while the value stays the same.
template <typename T>
class Published {
 public:
  explicit Published(std::shared_ptr<const T> value)
      : id_(next_id().fetch_add(1, std::memory_order_relaxed) + 1), value_(std::move(value)) {}

  [[nodiscard]] std::shared_ptr<const T> load() const {
    std::lock_guard lock(mutex_);
    return value_;
  }
  /// Publishes `value`; the previous one is destroyed (when its last reader
  /// lets go) outside the mutex.
  void store(std::shared_ptr<const T> value) {
    {
      std::lock_guard lock(mutex_);
      value_.swap(value);
    }
    version_.fetch_add(1, std::memory_order_release);
    value.reset();
  }

  /// The calling thread's own copy of the value, refreshed (through load())
  /// when a new one was published since. It stays valid until this thread's
  /// next thread_copy() of any Published<T>, so a caller must not hold it
  /// across code that may call thread_copy() again for the same T. Each
  /// thread keeps the last value it read alive until then. Why: every
  /// decision read the config and the runtime records; load()'s mutex and
  /// the shared reference count were cache lines the event-loop threads
  /// passed back and forth on every request.
  [[nodiscard]] const std::shared_ptr<const T>& thread_copy() const {
    struct Copy {
      std::uint64_t id = 0;
      std::uint64_t version = 0;
      std::shared_ptr<const T> value;
    };
    thread_local Copy copy;
    const std::uint64_t version = version_.load(std::memory_order_acquire);
    if (copy.id != id_ || copy.version != version) {
      copy.value = load();  // at least as new as `version`
      copy.id = id_;
      copy.version = version;
    }
    return copy.value;
  }

 private:
  // Instances are told apart by an id never reused, not by address: a new
  // Published at a freed one's address must not match a thread's old copy.
  static std::atomic<std::uint64_t>& next_id() {
    static std::atomic<std::uint64_t> id{0};
    return id;
  }

  const std::uint64_t id_;
  std::atomic<std::uint64_t> version_{0};
  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
};

}  // namespace ratelimit::policy
