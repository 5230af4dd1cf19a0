#pragma once
// A connection shared by many threads, whose concurrent commands are
// pipelined: sent in one write and answered in order (internal).

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "store/redis/connection.hpp"
#include "store/redis/counters.hpp"

namespace ratelimit::redis {

/// Batching without a background thread (leader/follower): a caller queues
/// its commands; if no caller is talking to Redis it becomes the leader,
/// takes everything queued, sends it in one write, reads every reply and
/// hands each caller its own. Callers that queue meanwhile wait and are sent
/// by the next leader. Alone, a caller makes a plain round trip; under load,
/// one write and one read serve many decisions, which is what lets a client
/// outrun one-command-per-round-trip clients.
///
/// The socket is opened lazily and reopened after any failure; a failure
/// fails every caller of that batch with StoreUnavailable.
class PipelinedConnection {
 public:
  PipelinedConnection(RedisEndpoint at, const ConnectSettings& settings, Counters& counters);

  /// Runs `commands` back to back on this connection (nothing else between
  /// them: ASKING + EVALSHA rely on it) and returns their replies.
  std::vector<Reply> run(std::span<const Command* const> commands);
  Reply run(const Command& command);

  [[nodiscard]] const RedisEndpoint& endpoint() const noexcept { return at_; }

 private:
  struct Request {
    std::span<const Command* const> commands;
    std::vector<Reply> replies;
    std::exception_ptr error;
    bool done = false;
  };
  // Leader only: sends the batch and fills every request (or its error).
  void send_batch(std::vector<Request*>& batch);

  const RedisEndpoint at_;
  const ConnectSettings& settings_;
  Counters& counters_;

  std::mutex mu_;
  std::condition_variable done_cv_;
  std::vector<Request*> queue_;     // guarded by mu_
  bool leader_active_ = false;      // guarded by mu_
  std::unique_ptr<Connection> conn_;  // leader only
  std::vector<const Command*> flat_;  // leader only: the batch's commands in order
  std::vector<Reply> replies_;        // leader only
};

}  // namespace ratelimit::redis
