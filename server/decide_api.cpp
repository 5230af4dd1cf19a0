#include "decide_api.hpp"

#include <boost/json.hpp>
#include <string>

#include "caller_identifier.hpp"
#include "decision_json.hpp"
#include "error_replies.hpp"
#include "json_fields.hpp"
#include "problem.hpp"

namespace ratelimitd {

namespace json = boost::json;
using ratelimit::policy::PolicyDecision;

void write_policy_headers(const PolicyDecision& decision, const ratelimit::http::HeaderStyles& styles,
                          ratelimit::Micros now, ratelimit::http::HeaderSink& sink) {
  if (decision.whitelisted) return;
  if (decision.denylisted) {
    sink.add("X-RateLimit-Scope", "denylist");
    return;
  }
  if (decision.checks.empty()) return;
  ratelimit::http::HeaderInput input{
      .decision = decision.decision, .scope = decision.scope, .now = now};
  for (const auto& check : decision.checks) {
    if (check.scope == decision.scope) {
      input.window = check.window;
      input.window_limit = check.window_limit;
    }
  }
  ratelimit::http::write_rate_limit_headers(input, styles, sink);
}

std::vector<ratelimit::http::Header> policy_headers(const PolicyDecision& decision,
                                                    const ratelimit::http::HeaderStyles& styles,
                                                    ratelimit::Micros now) {
  ratelimit::http::HeaderList list;
  write_policy_headers(decision, styles, now, list);
  return std::move(list.headers);
}

DecisionOutcome policy_outcome(const PolicyDecision& d, const ratelimit::policy::Request& request,
                               const ratelimit::policy::PolicyEngine& engine) {
  DecisionOutcome outcome;
  outcome.decided = true;
  outcome.allowed = d.allowed;
  outcome.scope = d.scope;
  outcome.tier = d.tier;
  outcome.endpoint = d.endpoint;
  outcome.cost = d.cost;
  if (!d.allowed) outcome.identifier = caller_identifier(request, *engine.config());
  return outcome;
}

HttpReply handle_decide(std::string_view body, ratelimit::policy::PolicyEngine& engine,
                        const ratelimit::http::HeaderStyles& styles, const ratelimit::Clock& clock,
                        DecisionOutcome& outcome) {
  return with_error_replies(
      [&]() -> HttpReply {
        const json::object o = parse_object(body);
        reject_unknown(o, {"user", "api_key", "ip", "method", "path", "cost", "tier"}, "");
        const auto user = string_field(o, "user", "");
        const auto api_key = string_field(o, "api_key", "");
        const auto ip = string_field(o, "ip", "");
        const auto method = string_field(o, "method", "");
        const auto path = string_field(o, "path", "");
        const auto tier = string_field(o, "tier", "");
        const auto cost = integer_field(o, "cost", "");
        if (cost && *cost < 0) throw BadField{"cost", "'cost' must not be negative"};

        ratelimit::policy::Request request;
        if (user) request.user = *user;           // views into the strings above
        if (api_key) request.api_key = *api_key;  // views into the strings above
        if (ip) request.ip = *ip;                 // views into the strings above
        if (method) request.method = *method;     // views into the strings above
        if (path) request.path = *path;           // views into the strings above
        if (tier) request.tier = *tier;           // views into the strings above
        request.cost = cost;
        const PolicyDecision d = engine.decide(request);
        const ratelimit::Micros now = clock.now();
        outcome = policy_outcome(d, request, engine);

        json::object out = decision_json(d.decision);
        out["allowed"] = d.allowed;
        out["scope"] = d.scope;
        out["tier"] = d.tier;
        out["cost"] = d.cost;
        out["whitelisted"] = d.whitelisted;
        if (d.denylisted) {
          out["denylisted"] = true;
          out["reason"] = d.reason;
        }
        if (d.shadow_denied) out["shadow_denied"] = true;
        if (!d.endpoint.empty()) out["endpoint"] = d.endpoint;
        json::array checks;
        for (const auto& c : d.checks) {
          json::object item = decision_json(c.decision);
          item["scope"] = c.scope;
          if (c.shadow) item["shadow"] = true;
          checks.push_back(std::move(item));
        }
        out["checks"] = std::move(checks);
        json::object headers;
        for (const auto& [name, value] : policy_headers(d, styles, now)) headers[name] = value;
        out["headers"] = std::move(headers);
        return json_reply(out);
      },
      [&] { outcome.store_error = true; });
}

}  // namespace ratelimitd
