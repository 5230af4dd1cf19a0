#include "store/redis/pipelined_connection.hpp"

namespace ratelimit::redis {

namespace {
// Commands one write may carry: bounds the leader's buffers and the
// latency its followers see.
constexpr std::size_t kMaxPipeline = 256;
}  // namespace

PipelinedConnection::PipelinedConnection(RedisEndpoint at, const ConnectSettings& settings, Counters& counters)
    : at_(std::move(at)), settings_(settings), counters_(counters) {}

std::vector<Reply> PipelinedConnection::run(std::span<const Command* const> commands) {
  Request mine{commands, {}, nullptr};
  combiner_.submit(mine, kMaxPipeline, [this](std::span<Request* const> batch) { send_batch(batch); });
  if (mine.error) std::rethrow_exception(mine.error);
  return std::move(mine.replies);
}

Reply PipelinedConnection::run(const Command& command) {
  const Command* one = &command;
  return std::move(run(std::span<const Command* const>(&one, 1)).front());
}

void PipelinedConnection::send_batch(std::span<Request* const> batch) {
  flat_.clear();
  replies_.clear();
  for (const Request* r : batch) flat_.insert(flat_.end(), r->commands.begin(), r->commands.end());
  try {
    if (!conn_) {
      conn_ = Connection::open(at_, settings_);
      Counters::bump(counters_.reconnects);
    }
    conn_->run(flat_, replies_);
  } catch (const StoreUnavailable& e) {
    conn_.reset();  // a timed-out socket may still deliver a stale reply: never reuse it
    Counters::bump(e.kind() == StoreUnavailable::Kind::timeout ? counters_.timeouts : counters_.errors);
    const auto error = std::current_exception();
    for (Request* r : batch) r->error = error;
    return;
  } catch (...) {
    conn_.reset();
    const auto error = std::current_exception();  // e.g. bad_alloc: fail the batch, keep going
    for (Request* r : batch) r->error = error;
    return;
  }
  std::size_t next = 0;
  for (Request* r : batch) {
    r->replies.reserve(r->commands.size());
    for (std::size_t i = 0; i < r->commands.size(); ++i) r->replies.push_back(std::move(replies_[next++]));
  }
}

}  // namespace ratelimit::redis
