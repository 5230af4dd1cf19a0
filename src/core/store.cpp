// Store's default batch: one decision after another.

#include "ratelimit/store.hpp"

namespace ratelimit {

void Store::decide_batch(std::span<BatchDecision> batch) {
  for (BatchDecision& job : batch) {
    try {
      job.result = decide(job.checks, job.cost, job.now, job.each);
    } catch (...) {
      job.error = std::current_exception();
    }
  }
}

}  // namespace ratelimit
