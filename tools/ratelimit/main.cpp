// ratelimit: the command-line tool (demo, conformance runner, benchmark).

// GCC 12 at -O2 reports a false -Wnull-dereference inside CLI11's inlined split().
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop
#include <exception>
#include <iostream>

#include "commands.hpp"

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

  CLI11_PARSE(app, argc, argv);
  try {
    if (app.got_subcommand("demo")) return run_demo();
    if (app.got_subcommand("conformance")) return run_conformance(conformance);
    if (app.got_subcommand("bench")) return bench.store == "memory" ? run_bench(bench) : run_store_bench(bench);
  } catch (const std::exception& e) {
    std::cerr << "ratelimit: " << e.what() << '\n';
    return 2;
  }
  return 2;
}
