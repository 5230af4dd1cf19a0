#pragma once
// Concurrent clients for the multi-instance service tests: threads, each with
// its own keep-alive connection to one of several ratelimitd instances
// (thread i talks to instance i % N), each sending a bounded number of
// requests. Every reply is recorded; a request that fails or times out is
// recorded as a failure, never retried.

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "keepalive_client.hpp"

namespace ratelimit::testing {

struct LoadReply {
  int thread = 0;
  int instance = 0;
  unsigned status = 0;  ///< 0: the request failed (see LoadResult::failures)
  std::string body{};
  std::chrono::microseconds took{0};
};

struct LoadResult {
  std::vector<LoadReply> replies;     ///< in no particular order
  std::vector<std::string> failures;  ///< what each failed request threw
  std::chrono::microseconds max_latency{0};
};

struct LoadPlan {
  std::vector<int> ports;  ///< the instances
  int threads = 12;
  int requests_per_thread = 50;
  std::chrono::milliseconds timeout{5000};  ///< per request: longer is a failure
  std::string target = "/v1/check";
  /// The body of request `i` of thread `thread`.
  std::function<std::string(int thread, int i)> body;
  /// Optional: checked before each request; true ends the thread early.
  const std::atomic<bool>* stop = nullptr;
  /// Optional: incremented after each request (progress for the caller).
  std::atomic<long>* done = nullptr;
};

inline LoadResult run_load(const LoadPlan& plan) {
  LoadResult result;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < plan.threads; ++t) {
    threads.emplace_back([&, t] {
      const int instance = t % static_cast<int>(plan.ports.size());
      KeepAliveClient client(plan.ports[static_cast<std::size_t>(instance)], plan.timeout);
      std::vector<LoadReply> mine;
      std::vector<std::string> failed;
      for (int i = 0; i < plan.requests_per_thread; ++i) {
        if (plan.stop != nullptr && plan.stop->load()) break;
        LoadReply r{.thread = t, .instance = instance};
        try {
          auto reply = client.post(plan.target, plan.body(t, i));
          r.status = reply.status;
          r.body = std::move(reply.body);
          r.took = reply.took;
        } catch (const std::exception& e) {
          failed.emplace_back(e.what());
        }
        mine.push_back(std::move(r));
        if (plan.done != nullptr) plan.done->fetch_add(1);
      }
      const std::lock_guard lock(mu);
      for (auto& r : mine) {
        result.max_latency = std::max(result.max_latency, r.took);
        result.replies.push_back(std::move(r));
      }
      for (auto& f : failed) result.failures.push_back(std::move(f));
    });
  }
  for (auto& th : threads) th.join();
  return result;
}

}  // namespace ratelimit::testing
