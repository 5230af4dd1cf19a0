#pragma once
/// @file published.hpp
/// An immutable value that readers take and writers replace whole (the
/// config in force, the runtime-record snapshot).

#include <memory>
#include <mutex>
#include <utility>

namespace ratelimit::policy {

/// Readers get a shared_ptr that keeps their copy alive while a writer
/// publishes the next one. A mutex guards only the pointer copy (tens of ns):
/// libstdc++ 12's std::atomic<std::shared_ptr> is lock-based as well, and
/// ThreadSanitizer cannot follow its internal lock bit.
template <typename T>
class Published {
 public:
  explicit Published(std::shared_ptr<const T> value) : value_(std::move(value)) {}

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
    value.reset();
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
};

}  // namespace ratelimit::policy
