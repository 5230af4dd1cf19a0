// ratelimit: the command-line tool (demo, conformance runner, benchmark, config tools).

// GCC 12 at -O2 reports a false -Wnull-dereference inside CLI11's inlined split().
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop
#include <exception>
#include <iostream>

#include <boost/json.hpp>

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

  // Clients of a running ratelimitd.
  ClientOptions client;
  auto add_client_flags = [&client](CLI::App* cmd) {
    cmd->add_option("--server", client.server, "ratelimitd URL")->capture_default_str()->envname("RATELIMITD_URL");
    cmd->add_flag("--json", client.json, "Print the server's JSON");
  };
  CheckCommandOptions check_cmd;
  auto* check_sub = app.add_subcommand("check", "Ask ratelimitd for one decision (POST /v1/check); exit 0 allowed, 1 denied");
  check_sub->add_option("key", check_cmd.key, "The key to limit")->required();
  check_sub->add_option("--limit", check_cmd.limit, "Requests per window")->required()->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
  check_sub->add_option("--window", check_cmd.window, "Window (e.g. 1s, 1m, 1h)")->capture_default_str();
  check_sub->add_option("--algorithm", check_cmd.algorithm, "Algorithm")->capture_default_str();
  check_sub->add_option("--burst", check_cmd.burst, "Bucket capacity (bucket algorithms)");
  check_sub->add_option("--cost", check_cmd.cost, "Units this request costs (0 = peek)")->capture_default_str();
  add_client_flags(check_sub);

  DecideCommandOptions decide_cmd;
  auto* decide_sub = app.add_subcommand("decide", "Ask ratelimitd's policy for a decision (POST /v1/decide); exit 0 allowed, 1 denied");
  decide_sub->add_option("--user", decide_cmd.user, "User id");
  decide_sub->add_option("--api-key", decide_cmd.api_key, "API key");
  decide_sub->add_option("--ip", decide_cmd.ip, "Client IP address");
  decide_sub->add_option("--method", decide_cmd.method, "HTTP method");
  decide_sub->add_option("--path", decide_cmd.path, "Request path");
  decide_sub->add_option("--cost", decide_cmd.cost, "Explicit cost");
  add_client_flags(decide_sub);

  AdminCommandOptions admin_cmd;
  auto* admin = app.add_subcommand("admin", "Change a running ratelimitd (token: --token or RATELIMITD_ADMIN_TOKEN)");
  admin->require_subcommand(1);
  admin->add_option("--token", admin_cmd.token, "Admin bearer token");
  add_client_flags(admin);
  std::string arg1, arg2, ttl, reason, type_filter;
  auto* tier = admin->add_subcommand("tier", "Runtime tiers: set ID TIER [--ttl 1h] | get ID | rm ID | list");
  tier->require_subcommand(1);
  auto* tier_set = tier->add_subcommand("set", "Assign a tier to user:ID, ip:ADDR or api_key:KEY");
  tier_set->add_option("identifier", arg1)->required();
  tier_set->add_option("tier", arg2)->required();
  tier_set->add_option("--ttl", ttl, "How long (e.g. 1h); default: until removed");
  auto* tier_get = tier->add_subcommand("get", "Show an identifier's runtime tier");
  tier_get->add_option("identifier", arg1)->required();
  auto* tier_rm = tier->add_subcommand("rm", "Remove an identifier's runtime tier");
  tier_rm->add_option("identifier", arg1)->required();
  auto* tier_list = tier->add_subcommand("list", "Every runtime tier assignment");
  auto* wl = admin->add_subcommand("whitelist", "Whitelist: add TYPE ID | rm TYPE ID | list | add-range CIDR | rm-range CIDR | ranges");
  wl->require_subcommand(1);
  auto* wl_add = wl->add_subcommand("add", "Whitelist an identifier (TYPE: user, ip, api_key)");
  wl_add->add_option("type", arg1)->required();
  wl_add->add_option("id", arg2)->required();
  wl_add->add_option("--reason", reason, "Why");
  wl_add->add_option("--ttl", ttl, "How long (e.g. 24h); default: until removed");
  auto* wl_rm = wl->add_subcommand("rm", "Remove an identifier");
  wl_rm->add_option("type", arg1)->required();
  wl_rm->add_option("id", arg2)->required();
  auto* wl_list = wl->add_subcommand("list", "Whitelisted identifiers");
  wl_list->add_option("--type", type_filter, "Only this type");
  auto* wl_add_range = wl->add_subcommand("add-range", "Whitelist a CIDR range");
  wl_add_range->add_option("cidr", arg1)->required();
  wl_add_range->add_option("--reason", reason, "Description");
  auto* wl_rm_range = wl->add_subcommand("rm-range", "Remove a CIDR range");
  wl_rm_range->add_option("cidr", arg1)->required();
  auto* wl_ranges = wl->add_subcommand("ranges", "Whitelisted ranges");
  auto* reset = admin->add_subcommand("reset", "Reset one store key (its next request sees a full limit)");
  reset->add_option("key", arg1)->required();
  auto* reload = admin->add_subcommand("reload", "Reload the server's policy file");

  // Planning (docs/planning.md): capacity, tiers, sla.
  CapacityOptions capacity;
  auto* capacity_sub = app.add_subcommand(
      "capacity", "Max RPS of a machine from its resources and per-request needs; the bottleneck");
  capacity_sub->add_option("profile", capacity.file, "YAML capacity profile (flags override it)");
  capacity_sub->add_option("--cpu-cores", capacity.cpu_cores, "CPU cores");
  capacity_sub->add_option("--memory-gib", capacity.memory_gib, "Memory, GiB");
  capacity_sub->add_option("--network-mbps", capacity.network_mbps, "Network bandwidth, Mbit/s");
  capacity_sub->add_option("--disk-iops", capacity.disk_iops, "Disk operations per second");
  capacity_sub->add_option("--cpu-ms", capacity.cpu_ms, "CPU ms per request");
  capacity_sub->add_option("--memory-mib", capacity.memory_mib, "MiB a request holds while it runs");
  capacity_sub->add_option("--latency-ms", capacity.latency_ms, "How long a request runs, ms");
  capacity_sub->add_option("--network-kib", capacity.network_kib, "KiB sent and received per request");
  capacity_sub->add_option("--disk-ops", capacity.disk_ops, "Disk operations per request");
  capacity_sub->add_option("--safety-factor", capacity.safety_factor, "Share of the theoretical max to plan for (default 0.7)");
  capacity_sub->add_option("--from-metrics", capacity.from_metrics,
                           "ratelimitd URL: take CPU ms and latency per decision from its /metrics");
  capacity_sub->add_flag("--json", capacity.json, "Print JSON");

  TiersOptions tiers_opts;
  auto* tiers_sub = app.add_subcommand(
      "tiers", "Limits per tier and endpoint type, expected load; --emit-config writes a policy");
  tiers_sub->add_option("plan", tiers_opts.file, "YAML tier plan");
  tiers_sub->add_option("--tier", tiers_opts.tiers, "NAME:REQUESTS_PER_HOUR:BURST[:USERS[:USAGE]] (repeatable; replaces the file's tiers)");
  tiers_sub->add_option("--endpoint-type", tiers_opts.endpoint_types, "NAME=MULTIPLIER (repeatable; replaces the types)");
  tiers_sub->add_option("--peak-factor", tiers_opts.peak_factor, "Peak RPS / average RPS (default 3)");
  tiers_sub->add_option("--headroom", tiers_opts.headroom, "Recommended capacity = peak x (1 + headroom) (default 0.5)");
  tiers_sub->add_option("--emit-config", tiers_opts.emit_config, "Write a policy config (docs/config.md) to this file");
  tiers_sub->add_flag("--json", tiers_opts.json, "Print JSON");

  SlaOptions sla_opts;
  auto* sla_sub = app.add_subcommand("sla", "SLA compliance per tier and service credits owed; exit 1 on a breach");
  sla_sub->add_option("sla", sla_opts.file, "YAML SLA definitions")->required();
  sla_sub->add_option("--measured", sla_opts.measured_file, "JSON file of measured figures");
  sla_sub->add_option("--from-service", sla_opts.from_service, "ratelimitd URL: response time from GET /v1/stats");
  sla_sub->add_option("--range", sla_opts.range, "/v1/stats range")->capture_default_str()->check(CLI::IsMember({"1h", "24h", "7d"}));
  sla_sub->add_option("--availability", sla_opts.availability, "Measured availability, %");
  sla_sub->add_option("--response-ms", sla_opts.response_ms, "Measured response time, ms");
  sla_sub->add_option("--accuracy", sla_opts.accuracy, "Measured rate-limit accuracy, %");
  sla_sub->add_option("--tier", sla_opts.tier, "The flags' figures are for this tier only");
  sla_sub->add_flag("--json", sla_opts.json, "Print JSON");

  // Traffic analysis of access logs and the sample-log generator (analyze_command.cpp).
  const auto run_analyze_commands = add_analyze_commands(app);

  // --server, --json and --token may come anywhere after `admin`.
  for (CLI::App* group : {tier, wl}) {
    group->fallthrough();
    for (CLI::App* leaf : group->get_subcommands({})) leaf->fallthrough();
  }
  for (CLI::App* leaf : {reset, reload}) leaf->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is exit 0; every usage error is bad input: exit status 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    if (const auto status = run_analyze_commands()) return *status;
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
    if (check_sub->parsed()) return run_check(client, check_cmd);
    if (decide_sub->parsed()) return run_decide(client, decide_cmd);
    if (admin->parsed()) {
      auto seconds = [&]() -> std::optional<std::int64_t> {
        if (ttl.empty()) return std::nullopt;
        const auto d = ratelimit::policy::parse_duration(ttl);
        if (!d || *d <= 0) throw std::invalid_argument("--ttl '" + ttl + "' is not a duration (e.g. 1h)");
        return (*d + 999'999) / 1'000'000;
      };
      auto& a = admin_cmd;
      const std::string base = "/v1/admin/";
      if (tier_set->parsed()) {
        boost::json::object body{{"tier", arg2}};
        if (const auto s = seconds()) body["ttl_s"] = *s;
        a.method = "PUT", a.target = base + "tiers/" + url_segment(arg1), a.body = boost::json::serialize(body);
      } else if (tier_get->parsed() || tier_rm->parsed()) {
        a.method = tier_get->parsed() ? "GET" : "DELETE", a.target = base + "tiers/" + url_segment(arg1);
      } else if (tier_list->parsed()) {
        a.method = "GET", a.target = base + "tiers";
      } else if (wl_add->parsed()) {
        boost::json::object body{{"type", arg1}, {"id", arg2}, {"reason", reason}};
        if (const auto s = seconds()) body["expires_in_s"] = *s;
        a.method = "POST", a.target = base + "whitelist", a.body = boost::json::serialize(body);
      } else if (wl_rm->parsed()) {
        a.method = "DELETE", a.target = base + "whitelist/" + url_segment(arg1) + "/" + url_segment(arg2);
      } else if (wl_list->parsed()) {
        a.method = "GET", a.target = base + "whitelist" + (type_filter.empty() ? "" : "?type=" + url_segment(type_filter));
      } else if (wl_add_range->parsed()) {
        a.method = "POST", a.target = base + "whitelist/ranges",
        a.body = boost::json::serialize(boost::json::object{{"cidr", arg1}, {"description", reason}});
      } else if (wl_rm_range->parsed()) {
        a.method = "DELETE", a.target = base + "whitelist/ranges/" + url_segment(arg1);
      } else if (wl_ranges->parsed()) {
        a.method = "GET", a.target = base + "whitelist/ranges";
      } else if (reset->parsed()) {
        a.method = "DELETE", a.target = base + "limits/" + url_segment(arg1);
      } else if (reload->parsed()) {
        a.method = "POST", a.target = base + "reload";
      }
      return run_admin(client, a);
    }
    if (capacity_sub->parsed()) return run_capacity(capacity);
    if (tiers_sub->parsed()) return run_tiers(tiers_opts);
    if (sla_sub->parsed()) return run_sla(sla_opts);
    if (app.got_subcommand("bench")) return bench.store == "memory" ? run_bench(bench) : run_store_bench(bench);
  } catch (const std::exception& e) {
    std::cerr << "ratelimit: " << e.what() << '\n';
    return 2;
  }
  return 2;
}
