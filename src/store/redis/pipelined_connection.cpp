#include "store/redis/pipelined_connection.hpp"

namespace ratelimit::redis {

PipelinedConnection::PipelinedConnection(RedisEndpoint at, const ConnectSettings& settings, Counters& counters)
    : at_(std::move(at)), settings_(settings), counters_(counters) {}

std::vector<Reply> PipelinedConnection::run(std::span<const Command* const> commands) {
  Request mine{commands, {}, nullptr, false};
  std::unique_lock lock(mu_);
  queue_.push_back(&mine);
  while (!mine.done) {
    if (leader_active_) {
      done_cv_.wait(lock);
      continue;
    }
    leader_active_ = true;
    std::vector<Request*> batch;
    batch.swap(queue_);
    lock.unlock();
    send_batch(batch);
    lock.lock();
    for (Request* r : batch) r->done = true;
    leader_active_ = false;
    // Wakes the batch's callers and, if more queued meanwhile, one of them
    // becomes the next leader.
    done_cv_.notify_all();
  }
  if (mine.error) std::rethrow_exception(mine.error);
  return std::move(mine.replies);
}

Reply PipelinedConnection::run(const Command& command) {
  const Command* one = &command;
  return std::move(run(std::span<const Command* const>(&one, 1)).front());
}

void PipelinedConnection::send_batch(std::vector<Request*>& batch) {
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
  }
  std::size_t next = 0;
  for (Request* r : batch) {
    r->replies.reserve(r->commands.size());
    for (std::size_t i = 0; i < r->commands.size(); ++i) r->replies.push_back(std::move(replies_[next++]));
  }
}

}  // namespace ratelimit::redis
