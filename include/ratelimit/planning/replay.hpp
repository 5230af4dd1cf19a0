#pragma once
/// @file replay.hpp
/// What-if replay: a log's requests decided by a proposed policy, on an
/// in-memory store and a manual clock set to each line's timestamp.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ratelimit/planning/log_record.hpp"
#include "ratelimit/planning/traffic_analyzer.hpp"
#include "ratelimit/policy/config.hpp"

namespace ratelimit::planning {

struct ReplayResult {
  std::uint64_t requests = 0;
  std::uint64_t limited = 0;
  /// Requests the engine refused as invalid (say, an ip that is not an
  /// address); not counted as limited.
  std::uint64_t invalid = 0;
  std::string first_invalid;  ///< the first such error message
  /// Distinct identifiers (AnalyzeOptions::by) with at least one limited request.
  std::uint64_t identifiers_limited = 0;
  /// Limited requests that had no such identifier (say, no API key logged).
  std::uint64_t limited_without_identifier = 0;
  /// The most limited identifiers, most first.
  std::vector<std::pair<std::string, std::uint64_t>> top_limited;
  /// Limited requests by the scope (limit name) that denied them.
  std::vector<std::pair<std::string, std::uint64_t>> by_scope;
};

/// Decides every record under `config` (its store URL is ignored: replays
/// always run on a private MemoryStore). Not thread-safe.
class Replayer {
 public:
  Replayer(policy::PolicyConfig config, IdentifierKind by);
  ~Replayer();
  Replayer(const Replayer&) = delete;
  Replayer& operator=(const Replayer&) = delete;

  void add(const LogRecord& record);
  [[nodiscard]] ReplayResult result(std::size_t top = 10) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ratelimit::planning
