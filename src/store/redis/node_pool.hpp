#pragma once
// The connections of one store to one Redis node (internal).

#include <atomic>
#include <memory>
#include <vector>

#include "store/redis/pipelined_connection.hpp"

namespace ratelimit::redis {

/// A small number per thread, fixed for the thread's life (0, 1, 2... in the
/// order threads first ask): spreads threads over connections and lanes.
[[nodiscard]] unsigned thread_number() noexcept;

/// `size` pipelined connections to one node. Each thread sticks to one of
/// them (assigned round robin on first use), so with as many connections as
/// callers every caller has its own, and with fewer they share and pipeline.
class NodePool {
 public:
  NodePool(RedisEndpoint at, const ConnectSettings& settings, Counters& counters, int size);

  /// The calling thread's connection.
  PipelinedConnection& connection();
  [[nodiscard]] const RedisEndpoint& endpoint() const noexcept { return at_; }

 private:
  RedisEndpoint at_;
  std::vector<std::unique_ptr<PipelinedConnection>> conns_;
};

}  // namespace ratelimit::redis
