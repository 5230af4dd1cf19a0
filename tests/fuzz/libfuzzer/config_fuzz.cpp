// config_fuzz: libFuzzer target for the policy config loader and engine.
//
// The input is YAML text. Loading it must either give a config or throw
// ConfigError whose every issue has a message; nothing else may escape. A
// config that loads must compile into a PolicyEngine and decide a few fixed
// requests (on an in-memory store and a manual clock) without throwing
// anything but InvalidRequest, and a ConfigError's text must name the source.
//
//   (built by -DRATELIMIT_FUZZ=ON with clang; see tests/fuzz/README.md)
//   cp -r tests/fuzz/corpus/config /tmp/config-corpus && build/fuzz/.../config_fuzz
//   /tmp/config-corpus

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "ratelimit/attribute_store.hpp"
#include "ratelimit/memory_store.hpp"
#include "ratelimit/policy/config_loader.hpp"
#include "ratelimit/policy/engine.hpp"

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "config_fuzz: %s\n", what);
  std::abort();
}

void exercise(const ratelimit::policy::PolicyConfig& config) {
  using namespace ratelimit;
  ManualClock clock(1'800'000'000 * kMicrosPerSecond);
  MemoryStore store;
  const auto attributes = make_memory_attribute_store();
  policy::PolicyEngine engine(store, *attributes, clock, config);
  const policy::Request requests[] = {
      {},
      {.user = "u1", .ip = "192.0.2.1", .method = "GET", .path = "/users/42"},
      {.api_key = "k", .ip = "2001:db8::1", .method = "POST", .path = "/ocr/batch?x=1"},
      {.user = "u1", .method = "DELETE", .path = "/a/../b//c/", .cost = 0},
      {.user = "u2", .ip = "10.1.2.3", .path = "/x", .cost = 7},
  };
  for (int round = 0; round < 3; ++round) {
    for (const auto& r : requests) {
      try {
        const auto d = engine.decide(r);
        require(d.allowed == d.decision.allowed || d.denylisted,
                "allowed disagrees with the decision");
        require(d.cost >= 0, "negative cost");
      } catch (const InvalidRequest&) {
        // A request the config makes invalid (none of these should be, but
        // it is a clean refusal, not a crash).
      }
    }
    clock.advance(kMicrosPerSecond);
  }
  engine.reload(config);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ratelimit::policy::PolicyConfig config;
  try {
    config = ratelimit::policy::load_config(text, "fuzz.yaml");
  } catch (const ratelimit::policy::ConfigError& e) {
    require(!e.issues().empty(), "ConfigError without issues");
    for (const auto& issue : e.issues()) {
      require(!issue.message.empty(), "issue without a message");
      require(issue.file == "fuzz.yaml", "issue without the source name");
    }
    return 0;
  }
  exercise(config);
  return 0;
}
