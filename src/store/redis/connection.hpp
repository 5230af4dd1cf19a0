#pragma once
// One blocking hiredis connection to one Redis node (internal).

#include <hiredis/hiredis.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/redis_store.hpp"

namespace ratelimit::redis {

struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
/// One parsed reply, owned.
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

/// One command: its arguments, sent as a RESP array of bulk strings.
struct Command {
  std::vector<std::string> args;
};

/// What every connection of a store needs to know to open itself.
struct ConnectSettings {
  std::string username;
  std::string password;
  int database = 0;
  int connect_timeout_ms = 250;
  int command_timeout_ms = 250;
};

/// A connected, authenticated socket to one node. Not thread-safe: one user
/// at a time (PipelinedConnection serializes). Any I/O error or timeout
/// leaves it broken: the owner discards it and opens a new one.
class Connection {
 public:
  /// Connects, sets the command timeout, sends AUTH and SELECT. Throws
  /// StoreUnavailable (kind timeout or connection; reply for a refused AUTH).
  static std::unique_ptr<Connection> open(const RedisEndpoint& at, const ConnectSettings& settings);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Sends every command in one write, then reads one reply per command, in
  /// order, appending them to `out`. Error replies are returned, not thrown;
  /// I/O failures and timeouts throw StoreUnavailable.
  void run(std::span<const Command* const> commands, std::vector<Reply>& out);
  /// One command, one reply.
  Reply run(const Command& command);

  [[nodiscard]] const RedisEndpoint& endpoint() const noexcept { return at_; }

 private:
  Connection(redisContext* ctx, RedisEndpoint at) : ctx_(ctx), at_(std::move(at)) {}
  [[noreturn]] void fail(std::string_view doing) const;

  redisContext* ctx_;
  RedisEndpoint at_;
};

/// "host:port", for messages.
[[nodiscard]] std::string describe(const RedisEndpoint& at);
/// The text of an error reply, or "" when `r` is not an error.
[[nodiscard]] std::string_view error_text(const redisReply& r) noexcept;

}  // namespace ratelimit::redis
