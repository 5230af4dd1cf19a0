#include "service.hpp"

#include "ratelimit/policy/config_loader.hpp"

#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "check_api.hpp"
#include "decide_api.hpp"
#include "decision_json.hpp"
#include "error_replies.hpp"
#include "problem.hpp"

namespace ratelimitd {

namespace {

// A /v1/check request waiting for its loop's batch (Service::CheckBatch).
struct CheckJob final : BatchJob {
  CheckRequest request;
  std::chrono::steady_clock::time_point start;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Service::Service(ServiceOptions options, std::shared_ptr<ratelimit::Store> store,
                 std::shared_ptr<ratelimit::policy::PolicyEngine> engine,
                 std::shared_ptr<const ratelimit::Clock> clock)
    : options_(std::move(options)),
      store_(std::move(store)),
      engine_(std::move(engine)),
      clock_(std::move(clock)),
      audit_(options_.audit_log),
      admin_{options_.admin_token, *engine_, *store_, *clock_, audit_, [this] { return reload(); }},
      telemetry_{analytics_, options_.alert_rules, *clock_, [this] { return readiness(); }} {}

std::optional<ratelimit::GuardedStoreStats> Service::guard_stats() const {
  if (const auto* guarded = dynamic_cast<const ratelimit::GuardedStore*>(store_.get())) {
    return guarded->guard_stats();
  }
  return std::nullopt;
}

std::uint64_t Service::reload() {
  if (options_.config_path.empty()) {
    throw std::runtime_error("there is no policy file to reload (start with --config FILE)");
  }
  try {
    ratelimit::policy::PolicyConfig config = ratelimit::policy::load_config_file(options_.config_path);
    if (options_.store_overridden) config.store.url = options_.store_url;
    engine_->reload(std::move(config));
  } catch (...) {
    metrics_.count_reload_failure();  // the old policy stays; alerting wants to know
    throw;
  }
  return engine_->reloads();
}

void Service::observe_decision(const DecisionOutcome& outcome, double seconds) {
  record_decision("proxy", outcome, seconds);
}

void Service::record_decision(std::string_view api, const DecisionOutcome& outcome,
                              double seconds) {
  metrics_.observe(api, outcome, seconds);
  if (!outcome.decided) return;
  analytics_.record({.at = clock_->now(),
                     .allowed = outcome.allowed,
                     .scope = outcome.scope,
                     .tier = outcome.tier,
                     .endpoint = outcome.endpoint,
                     .identifier = outcome.identifier,
                     .cost = outcome.cost,
                     .latency = static_cast<ratelimit::Micros>(seconds * 1e6)});
}

HttpReply Service::handle(const HttpRequest& request) {
  HttpReply reply = route(request);
  if (!reply.job) metrics_.count_reply(reply.status);  // a batch job is counted when it is answered
  return reply;
}

HttpReply Service::batched_check(const HttpRequest& request) {
  auto job = std::make_shared<CheckJob>();
  job->runner = &check_batch_;
  job->start = std::chrono::steady_clock::now();
  HttpReply invalid = with_error_replies(
      [&]() -> HttpReply {
        parse_check_request(request.body, job->request);
        return {};
      },
      [] {});
  if (invalid.status != 200) {
    record_decision("check", DecisionOutcome{}, seconds_since(job->start));
    return invalid;
  }
  HttpReply later;
  later.job = std::move(job);
  return later;
}

void Service::CheckBatch::run(std::span<BatchJob* const> jobs) {
  Service& s = service_;
  const ratelimit::Micros now = s.clock_->now();
  std::vector<ratelimit::BatchDecision> all;
  for (BatchJob* job : jobs) {
    CheckRequest& request = static_cast<CheckJob*>(job)->request;
    request.plan(now);
    all.insert(all.end(), request.decisions.begin(), request.decisions.end());
  }
  s.store_->decide_batch(all);
  std::size_t next = 0;
  for (BatchJob* job : jobs) {
    auto& check = *static_cast<CheckJob*>(job);
    for (auto& d : check.request.decisions) d = all[next++];
    DecisionOutcome outcome;
    job->reply = render_check(check.request, outcome);
    s.record_decision("check", outcome, seconds_since(check.start));
    s.metrics_.count_reply(job->reply.status);
  }
}

HttpReply Service::decision(std::string_view api, const HttpRequest& request) {
  if (api == "check" && store_->prefers_batches()) return batched_check(request);
  DecisionOutcome outcome;
  const auto start = std::chrono::steady_clock::now();
  HttpReply reply = api == "check" ? handle_check(request.body, *store_, *clock_, outcome)
                                   : handle_decide(request.body, *engine_, options_.header_styles,
                                                   *clock_, outcome);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  record_decision(api, outcome, took.count());
  return reply;
}

boost::json::object Service::readiness() const {
  // A store in its failure mode still answers (open, closed or local, as
  // configured): ready, but degraded.
  const auto guard = guard_stats();
  const bool degraded = guard && guard->state != ratelimit::BreakerState::closed;
  return {{"status", degraded ? "degraded" : "ready"},
          {"store", options_.store_url},
          {"store_breaker", guard ? ratelimit::to_string(guard->state) : "none"},
          {"config", options_.config_path.empty() ? "(none)" : options_.config_path}};
}

HttpReply Service::route(const HttpRequest& request) {
  const std::string_view path = path_of(request.target);
  struct Route {
    std::string_view path;
    std::string_view method;
  };
  static constexpr std::array<Route, 5> kRoutes = {{
      {"/v1/check", "POST"},
      {"/v1/decide", "POST"},
      {"/metrics", "GET"},
      {"/healthz", "GET"},
      {"/readyz", "GET"},
  }};
  const auto q = request.target.find('?');
  const std::string_view query =
      q == std::string::npos ? std::string_view() : std::string_view(request.target).substr(q + 1);
  if (is_admin_path(path)) return handle_admin(request, path, query, admin_);
  if (is_telemetry_path(path)) return handle_telemetry(request, path, query, telemetry_);
  for (const auto& route : kRoutes) {
    if (route.path != path) continue;
    if (request.method != route.method && !(route.method == "GET" && request.method == "HEAD")) {
      HttpReply reply =
          problem(405, std::string(path) + " accepts " + std::string(route.method) + " only");
      reply.headers.emplace_back("Allow", std::string(route.method));
      return reply;
    }
    if (path == "/v1/check") return decision("check", request);
    if (path == "/v1/decide") return decision("decide", request);
    if (path == "/metrics") {
      HttpReply reply;
      reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
      reply.body = metrics_.scrape({.active_keys = store_->stats().keys,
                                    .reloads = engine_->reloads(),
                                    .guard = guard_stats(),
                                    .proxy = proxy_view_ ? std::optional(proxy_view_())
                                                         : std::nullopt});
      return reply;
    }
    if (path == "/healthz") return json_reply({{"status", "ok"}});
    return json_reply(readiness());
  }
  return problem(404, "no such endpoint: " + std::string(path));
}

}  // namespace ratelimitd
