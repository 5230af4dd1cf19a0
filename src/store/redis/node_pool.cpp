#include "store/redis/node_pool.hpp"

namespace ratelimit::redis {

NodePool::NodePool(RedisEndpoint at, const ConnectSettings& settings, Counters& counters, int size)
    : at_(std::move(at)) {
  for (int i = 0; i < size; ++i) conns_.push_back(std::make_unique<PipelinedConnection>(at_, settings, counters));
}

unsigned thread_number() noexcept {
  static std::atomic<unsigned> next_thread{0};
  thread_local const unsigned number = next_thread.fetch_add(1, std::memory_order_relaxed);
  return number;
}

PipelinedConnection& NodePool::connection() { return *conns_[thread_number() % conns_.size()]; }

}  // namespace ratelimit::redis
