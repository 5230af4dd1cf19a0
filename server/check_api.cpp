#include "check_api.hpp"

#include <array>
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "decision_json.hpp"
#include "error_replies.hpp"
#include "json_fields.hpp"
#include "problem.hpp"
#include "ratelimit/limit_spec.hpp"

namespace ratelimitd {

namespace json = boost::json;
using ratelimit::Algorithm;
using ratelimit::Check;
using ratelimit::Decision;
using ratelimit::LimitParams;
using ratelimit::LimitSpec;
using ratelimit::Micros;

namespace {

// One parsed check: its spec and key, and what it costs.
struct ParsedCheck {
  LimitSpec spec;
  std::string key;
  std::int64_t cost;
};

ParsedCheck parse_check(const json::value& value, const std::string& prefix) {
  if (!value.is_object())
    throw BadField{prefix.empty() ? "body" : prefix, "a check must be a JSON object"};
  const json::object& o = value.get_object();
  reject_unknown(o, {"key", "algorithm", "limit", "window_ms", "burst", "cost", "mode"}, prefix);
  const auto key = string_field(o, "key", prefix);
  if (!key || key->empty())
    throw BadField{field_name(prefix, "key"), "'key' is required and must not be empty"};
  if (key->size() > ratelimit::Store::kMaxKeyLength) {
    throw BadField{
        field_name(prefix, "key"),
        "'key' is longer than " + std::to_string(ratelimit::Store::kMaxKeyLength) + " bytes"};
  }
  LimitParams params;
  if (const auto name = string_field(o, "algorithm", prefix)) {
    try {
      params.algorithm = ratelimit::parse_algorithm(*name);
    } catch (const ratelimit::InvalidLimitSpec& e) {
      throw BadField{field_name(prefix, "algorithm"), e.what()};
    }
  }
  const auto limit = integer_field(o, "limit", prefix);
  if (!limit) throw BadField{field_name(prefix, "limit"), "'limit' is required"};
  if (*limit <= 0) throw BadField{field_name(prefix, "limit"), "'limit' must be positive"};
  const auto window_ms = integer_field(o, "window_ms", prefix);
  if (!window_ms) throw BadField{field_name(prefix, "window_ms"), "'window_ms' is required"};
  if (*window_ms <= 0)
    throw BadField{field_name(prefix, "window_ms"), "'window_ms' must be positive"};
  if (*window_ms > ratelimit::LimitSpec::kMaxWindow / ratelimit::kMicrosPerMilli) {
    throw BadField{field_name(prefix, "window_ms"), "'window_ms' is longer than 366 days"};
  }
  params.limit = *limit;
  params.window = *window_ms * ratelimit::kMicrosPerMilli;
  params.burst = integer_field(o, "burst", prefix);
  if (const auto mode = string_field(o, "mode", prefix)) {
    try {
      params.mode = ratelimit::parse_leaky_mode(*mode);
    } catch (const ratelimit::InvalidLimitSpec& e) {
      throw BadField{field_name(prefix, "mode"), e.what()};
    }
  }
  const std::int64_t cost = integer_field(o, "cost", prefix).value_or(1);
  if (cost < 0) throw BadField{field_name(prefix, "cost"), "'cost' must not be negative"};
  if (cost > LimitSpec::kMaxLimit)
    throw BadField{field_name(prefix, "cost"), "'cost' is too large"};
  try {
    return ParsedCheck{LimitSpec(params), *key, cost};
  } catch (const ratelimit::InvalidLimitSpec& e) {
    // The spec's own message names the field (limit, burst, mode, ...).
    throw BadField{prefix.empty() ? "limit" : prefix, e.what()};
  }
}

Check as_check(const ParsedCheck& c) { return Check{&c.spec, c.key, c.cost}; }

}  // namespace

HttpReply handle_check(std::string_view body, ratelimit::Store& store,
                       const ratelimit::Clock& clock, DecisionOutcome& outcome) {
  return with_error_replies(
      [&]() -> HttpReply {
        const json::object root = parse_object(body);
        if (!root.contains("checks")) {
          const ParsedCheck c = parse_check(json::value(root), "");
          const Decision d = store.decide_one(as_check(c), c.cost, clock.now());
          outcome.decided = true;
          outcome.allowed = d.allowed;
          outcome.cost = c.cost;
          if (!d.allowed) outcome.identifier = c.key;  // the analytics rank denied keys
          return json_reply(decision_json(d));
        }
        for (const auto& member : root) {
          if (member.key() != "checks" && member.key() != "atomic") {
            return problem(400, "unknown field '" + std::string(member.key()) + "' in a batch",
                           member.key());
          }
        }
        const json::value& list = root.at("checks");
        if (!list.is_array() || list.get_array().empty()) {
          return problem(400, "'checks' must be a non-empty array", "checks");
        }
        const json::array& items = list.get_array();
        if (items.size() > ratelimit::Store::kMaxChecks) {
          return problem(
              400,
              "at most " + std::to_string(ratelimit::Store::kMaxChecks) + " checks per request",
              "checks");
        }
        bool atomic = false;
        if (const json::value* a = root.if_contains("atomic"); a != nullptr && !a->is_null()) {
          if (!a->is_bool()) return problem(400, "'atomic' must be true or false", "atomic");
          atomic = a->get_bool();
        }
        std::vector<ParsedCheck> parsed;
        parsed.reserve(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
          parsed.push_back(parse_check(items[i], "checks[" + std::to_string(i) + "]"));
        }
        std::vector<Decision> each(parsed.size());
        const Micros now = clock.now();
        if (atomic) {
          std::vector<Check> checks;
          checks.reserve(parsed.size());
          for (const auto& c : parsed) checks.push_back(as_check(c));
          // Cost 1 with every check's own cost: a check of cost 0 is a peek
          // within the decision (Check::cost), as the batch asked.
          (void)store.decide(checks, 1, now, each);
        } else {
          for (std::size_t i = 0; i < parsed.size(); ++i)
            each[i] = store.decide_one(as_check(parsed[i]), parsed[i].cost, now);
        }
        json::object out;
        bool all = true;
        json::array results;
        for (std::size_t i = 0; i < each.size(); ++i) {
          const Decision& d = each[i];
          // The analytics rank the first denied key of a batch.
          if (all && !d.allowed) outcome.identifier = parsed[i].key;
          outcome.cost = i == 0 ? parsed[i].cost : outcome.cost + parsed[i].cost;
          all = all && d.allowed;
          results.push_back(decision_json(d));
        }
        out["allowed"] = all;
        outcome.decided = true;
        outcome.allowed = all;
        out["results"] = std::move(results);
        return json_reply(out);
      },
      [&] { outcome.store_error = true; });
}

}  // namespace ratelimitd
