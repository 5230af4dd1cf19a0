#pragma once
// Entry points of the `ratelimit` subcommands; main.cpp parses flags into these.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace ratelimit::cli {

/// Registers `analyze` and `gen-log` (analyze_command.cpp, docs/planning.md)
/// on `app`. After parsing, the returned function runs whichever of them was
/// given and returns its exit status, or nullopt when neither was.
std::function<std::optional<int>()> add_analyze_commands(CLI::App& app);

/// `ratelimit demo`: the guides' worked examples on a manual clock.
int run_demo();

struct ConformanceOptions {
  std::string dir;               ///< directory holding *.json vectors
  std::string store = "memory";  ///< "memory" or a Redis URL (redis://HOST:PORT...)
  bool verbose = false;          ///< print every step, not only failures
};
/// `ratelimit conformance DIR [--store memory]`: 0 when every step passes.
int run_conformance(const ConformanceOptions& options);

struct BenchOptions {
  std::string algorithm = "token_bucket";
  std::uint64_t keys = 1'000'000;
  unsigned threads = 1;
  double seconds = 5.0;
  bool baseline = true;   ///< also run the naive mutex+unordered_map baseline
  bool json = false;      ///< machine-readable output
  std::string store = "memory";  ///< "memory", or a store URL (then run_store_bench)
  unsigned checks = 1;           ///< store bench: checks per decision
};
/// `ratelimit bench`: decisions/s, ns per decision, resident bytes per key.
int run_bench(const BenchOptions& options);
/// `ratelimit bench --store URL`: decisions/s and latency percentiles of a
/// shared store under `threads` concurrent callers.
int run_store_bench(const BenchOptions& options);

}  // namespace ratelimit::cli

namespace ratelimit::cli {

struct ConfigCheckOptions {
  std::vector<std::string> files;
  bool json = false;
};
/// `ratelimit config check FILE...`: 0 when every file is valid; errors as
/// file:line:column: message (hint), one per line, on stderr.
int run_config_check(const ConfigCheckOptions& options);

struct ConfigTryOptions {
  std::string file;
  std::string user, api_key, ip, method, path, tier;
  std::optional<std::int64_t> cost;
  std::uint64_t repeat = 1;
  std::int64_t every = 0;  ///< µs between requests
  bool json = false;
};
/// `ratelimit config try FILE ...`: decides the same request `repeat` times,
/// `every` apart, on an in-memory store and a manual clock.
int run_config_try(const ConfigTryOptions& options);

}  // namespace ratelimit::cli

namespace ratelimit::cli {

/// Options every client command shares.
struct ClientOptions {
  std::string server = "http://127.0.0.1:8080";  ///< a running ratelimitd
  bool json = false;                             ///< print the server's JSON
};

struct CheckCommandOptions {
  std::string key;
  std::string algorithm = "token_bucket";
  std::int64_t limit = 0;
  std::string window = "1m";
  std::optional<std::int64_t> burst;
  std::int64_t cost = 1;
};
/// `ratelimit check KEY --limit N --window 1m`: POST /v1/check. Exit status 0
/// allowed, 1 denied, 2 error.
int run_check(const ClientOptions& client, const CheckCommandOptions& options);

struct DecideCommandOptions {
  std::string user, api_key, ip, method, path;
  std::optional<std::int64_t> cost;
};
/// `ratelimit decide --user ... --path ...`: POST /v1/decide, with the
/// headers proxy mode would add. Exit status as for check.
int run_decide(const ClientOptions& client, const DecideCommandOptions& options);

/// `text` with every byte but unreserved ones %-escaped, for a path segment.
[[nodiscard]] std::string url_segment(const std::string& text);

/// One admin call, built by main.cpp from `ratelimit admin ...`.
struct AdminCommandOptions {
  std::string token;  ///< else RATELIMITD_ADMIN_TOKEN
  std::string method;
  std::string target;
  std::string body;
};
/// `ratelimit admin ...`: 0 on success, 2 with the server's error.
int run_admin(const ClientOptions& client, const AdminCommandOptions& options);

}  // namespace ratelimit::cli

namespace ratelimit::cli {

// Planning: capacity, tiers, sla (docs/planning.md). Bad input throws
// (planning::InputError, policy::ConfigError): main prints it, exit status 2.

struct CapacityOptions {
  std::string file;  ///< YAML capacity profile; flags override its values
  std::optional<double> cpu_cores, memory_gib, network_mbps, disk_iops;
  std::optional<double> cpu_ms, memory_mib, latency_ms, network_kib, disk_ops;
  std::optional<double> safety_factor;
  std::string from_metrics;  ///< ratelimitd URL: per-request CPU and latency from /metrics
  bool json = false;
};
/// `ratelimit capacity [FILE] [--cpu-cores N ...]`: max RPS and bottleneck.
int run_capacity(const CapacityOptions& options);

struct TiersOptions {
  std::string file;                         ///< YAML tier plan
  std::vector<std::string> tiers;           ///< NAME:REQUESTS_PER_HOUR:BURST[:USERS[:USAGE]]
  std::vector<std::string> endpoint_types;  ///< NAME=MULTIPLIER
  std::optional<double> peak_factor, headroom;
  std::string emit_config;  ///< write a policy config here
  bool json = false;
};
/// `ratelimit tiers [FILE] [--tier ...] [--emit-config FILE]`.
int run_tiers(const TiersOptions& options);

struct SlaOptions {
  std::string file;           ///< YAML SLA definitions
  std::string measured_file;  ///< JSON measured figures
  std::string from_service;   ///< ratelimitd URL: GET /v1/stats
  std::string range = "1h";
  std::string tier;  ///< the flags' figures apply to this tier only
  std::optional<double> availability, response_ms, accuracy;
  bool json = false;
};
/// `ratelimit sla FILE ...`: 0 when every SLA is met, 1 when one is breached.
int run_sla(const SlaOptions& options);

}  // namespace ratelimit::cli
