#include "proxy/upstream_pool.hpp"

namespace ratelimitd::proxy {

std::unique_ptr<UpstreamConnection> UpstreamPool::take_idle() {
  const SteadyTime now = std::chrono::steady_clock::now();
  while (!idle_.empty()) {
    std::unique_ptr<UpstreamConnection> c = std::move(idle_.back());
    idle_.pop_back();
    if (now - c->idle_since < max_idle_time_) return c;
    c->stream.close();
  }
  return nullptr;
}

void UpstreamPool::give_back(std::unique_ptr<UpstreamConnection> c) {
  if (closed_ || idle_.size() >= max_idle_) {
    c->stream.close();
    return;
  }
  c->stream.expire_never();
  c->idle_since = std::chrono::steady_clock::now();
  idle_.push_back(std::move(c));
}

void UpstreamPool::close_all() {
  closed_ = true;
  for (auto& c : idle_) c->stream.close();
  idle_.clear();
}

}  // namespace ratelimitd::proxy
