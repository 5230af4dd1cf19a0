#pragma once
// A policy engine on a MemoryStore, a memory AttributeStore and a manual
// clock, for tests that load a config and send requests.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ratelimit/attribute_store.hpp"
#include "ratelimit/memory_store.hpp"
#include "ratelimit/policy/config_loader.hpp"
#include "ratelimit/policy/engine.hpp"

namespace ratelimit::policy::testing {

inline std::string example_path(const std::string& name) {
  return std::string(RATELIMIT_SOURCE_DIR) + "/examples/" + name;
}

class PolicyFixture : public ::testing::Test {
 protected:
  // An instant well away from 0 so expiries and "ago" are meaningful.
  static constexpr Micros kStart = 1'800'000'000 * kMicrosPerSecond;

  void load_file(const std::string& path) { start(load_config_file(path)); }
  void load_text(const std::string& yaml) { start(load_config(yaml, "test.yaml")); }
  void start(PolicyConfig config) {
    engine_ = std::make_unique<PolicyEngine>(store_, *attributes_, clock_, std::move(config));
  }

  PolicyDecision decide(const Request& r) { return engine_->decide(r); }
  /// Sends `n` identical requests now; returns how many were admitted.
  int admitted(const Request& r, int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) ok += engine_->decide(r).allowed ? 1 : 0;
    return ok;
  }

  ManualClock clock_{kStart};
  MemoryStore store_;
  std::unique_ptr<AttributeStore> attributes_ = make_memory_attribute_store();
  std::unique_ptr<PolicyEngine> engine_;
};

}  // namespace ratelimit::policy::testing
