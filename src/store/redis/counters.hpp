#pragma once
// The Redis client's counters, shared by every connection of one store (internal).

#include <atomic>
#include <cstdint>

#include "ratelimit/redis_store.hpp"

namespace ratelimit::redis {

struct Counters {
  std::atomic<std::uint64_t> scripts_run{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> script_loads{0};
  std::atomic<std::uint64_t> redirects{0};
  std::atomic<std::uint64_t> refunds{0};
  std::atomic<std::uint64_t> master_changes{0};

  static void bump(std::atomic<std::uint64_t>& c) noexcept { c.fetch_add(1, std::memory_order_relaxed); }

  [[nodiscard]] RedisStats snapshot() const noexcept {
    auto get = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    return {get(scripts_run), get(errors), get(timeouts), get(reconnects),
            get(script_loads), get(redirects), get(refunds), get(master_changes)};
  }
};

}  // namespace ratelimit::redis
