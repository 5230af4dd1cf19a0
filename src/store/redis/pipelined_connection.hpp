#pragma once
// A connection shared by many threads, whose concurrent commands are
// pipelined: sent in one write and answered in order (internal).

#include <exception>
#include <memory>
#include <span>
#include <vector>

#include "store/redis/combiner.hpp"
#include "store/redis/connection.hpp"
#include "store/redis/counters.hpp"

namespace ratelimit::redis {

/// Concurrent callers' commands are combined (see Combiner): the leader
/// writes every queued command at once and reads every reply, so one write
/// and one read serve many decisions. Alone, a caller makes a plain round trip.
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
  };
  // Sends the batch and fills every request (or its error). Never throws.
  void send_batch(std::span<Request* const> batch);

  const RedisEndpoint at_;
  const ConnectSettings& settings_;
  Counters& counters_;
  Combiner<Request> combiner_;
  std::unique_ptr<Connection> conn_;  // leader only
  std::vector<const Command*> flat_;  // leader only: the batch's commands in order
  std::vector<Reply> replies_;        // leader only
};

}  // namespace ratelimit::redis
