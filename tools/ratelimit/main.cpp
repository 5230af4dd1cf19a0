// ratelimit: the command-line tool (demo, conformance runner, benchmark, config tools).

// GCC 12 at -O2 reports a false -Wnull-dereference inside CLI11's inlined split().
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop
#include <exception>
#include <iostream>

#include "commands.hpp"
#include "ratelimit/policy/config_loader.hpp"

int main(int argc, char** argv) {
  using namespace ratelimit::cli;
  CLI::App app{"ratelimit: exact, fast rate limiting (library, service, CLI)"};
  app.require_subcommand(1);

  app.add_subcommand("demo", "Walk through the guides' token bucket examples on a manual clock");

  ConformanceOptions conformance;
  auto* conf = app.add_subcommand("conformance", "Run the algorithm test vectors (*.json) in DIR against a store");
  conf->add_option("dir", conformance.dir, "Directory of conformance vectors")->required()->check(CLI::ExistingDirectory);
  conf->add_option("--store", conformance.store, "Store to test: memory, or redis://HOST:PORT (client time mode; keys deleted after)")->capture_default_str();
  conf->add_flag("-v,--verbose", conformance.verbose, "Print every step");

  BenchOptions bench;
  auto* b = app.add_subcommand("bench", "Measure decisions/s, ns per decision and bytes per key");
  b->add_option("--algorithm", bench.algorithm, "Algorithm to measure")->capture_default_str();
  b->add_option("--keys", bench.keys, "Distinct keys, drawn uniformly")->capture_default_str()->check(CLI::Range(1ULL, 100'000'000ULL));
  b->add_option("--threads", bench.threads, "Concurrent threads")->capture_default_str()->check(CLI::Range(1U, 256U));
  b->add_option("--seconds", bench.seconds, "Measured seconds per run")->capture_default_str()->check(CLI::Range(0.1, 3600.0));
  b->add_flag("!--no-baseline", bench.baseline, "Skip the naive mutex+unordered_map baseline");
  b->add_flag("--json", bench.json, "Print one JSON object instead of a table");
  b->add_option("--store", bench.store,
                "memory, or a store URL (redis://HOST:PORT?pool=N...): then --threads concurrent callers, "
                "reporting decisions/s and latency percentiles")->capture_default_str();
  b->add_option("--checks", bench.checks, "Store bench: checks per decision (one entity, one hash tag)")
      ->capture_default_str()->check(CLI::Range(1U, 32U));

  auto* config = app.add_subcommand("config", "Validate a policy config, or try requests against it");
  config->require_subcommand(1);
  ConfigCheckOptions check;
  auto* config_check = config->add_subcommand("check", "Validate policy files; errors as file:line:column");
  config_check->add_option("files", check.files, "YAML policy files")->required();
  config_check->add_flag("--json", check.json, "Print a JSON array of results");
  ConfigTryOptions attempt;
  std::string every = "0s";
  auto* config_try = config->add_subcommand(
      "try", "Decide one request N times against a policy (in-memory store, manual clock)");
  config_try->add_option("file", attempt.file, "YAML policy file")->required();
  config_try->add_option("--user", attempt.user, "User id");
  config_try->add_option("--api-key", attempt.api_key, "API key (hashed before use)");
  config_try->add_option("--ip", attempt.ip, "Client IP address");
  config_try->add_option("--method", attempt.method, "HTTP method");
  config_try->add_option("--path", attempt.path, "Request path");
  config_try->add_option("--cost", attempt.cost, "Explicit cost (else the endpoint's)");
  config_try->add_option("--tier", attempt.tier, "The caller's tier, when known (else looked up)");
  config_try->add_option("--repeat", attempt.repeat, "How many requests")->capture_default_str()->check(CLI::Range(1ULL, 10'000'000ULL));
  config_try->add_option("--every", every, "Time between requests (e.g. 100ms, 1s)")->capture_default_str();
  config_try->add_flag("--json", attempt.json, "Print JSON");

  CLI11_PARSE(app, argc, argv);
  try {
    if (app.got_subcommand("demo")) return run_demo();
    if (app.got_subcommand("conformance")) return run_conformance(conformance);
    if (config_check->parsed()) return run_config_check(check);
    if (config_try->parsed()) {
      const auto step = ratelimit::policy::parse_duration(every);
      if (!step) {
        std::cerr << "ratelimit: --every '" << every << "' is not a duration (e.g. 100ms, 1s, 1m)\n";
        return 2;
      }
      attempt.every = *step;
      return run_config_try(attempt);
    }
    if (app.got_subcommand("bench")) return bench.store == "memory" ? run_bench(bench) : run_store_bench(bench);
  } catch (const std::exception& e) {
    std::cerr << "ratelimit: " << e.what() << '\n';
    return 2;
  }
  return 2;
}
