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

using ParsedCheck = CheckRequest::Item;

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

// A single check's reply.
HttpReply single_reply(const CheckRequest::Item& item, const Decision& d, DecisionOutcome& outcome) {
  outcome.decided = true;
  outcome.allowed = d.allowed;
  outcome.cost = item.cost;
  if (!d.allowed) outcome.identifier = item.key;  // the analytics rank denied keys
  return json_reply(decision_json(d));
}

}  // namespace

void parse_check_request(std::string_view body, CheckRequest& out) {
  const json::object root = parse_object(body);
  if (!root.contains("checks")) {
    out.items.push_back(parse_check(json::value(root), ""));
    return;
  }
  out.batch = true;
  for (const auto& member : root) {
    if (member.key() != "checks" && member.key() != "atomic") {
      throw BadField{std::string(member.key()),
                     "unknown field '" + std::string(member.key()) + "' in a batch"};
    }
  }
  const json::value& list = root.at("checks");
  if (!list.is_array() || list.get_array().empty()) {
    throw BadField{"checks", "'checks' must be a non-empty array"};
  }
  const json::array& items = list.get_array();
  if (items.size() > ratelimit::Store::kMaxChecks) {
    throw BadField{"checks", "at most " + std::to_string(ratelimit::Store::kMaxChecks) +
                                 " checks per request"};
  }
  if (const json::value* a = root.if_contains("atomic"); a != nullptr && !a->is_null()) {
    if (!a->is_bool()) throw BadField{"atomic", "'atomic' must be true or false"};
    out.atomic = a->get_bool();
  }
  out.items.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    out.items.push_back(parse_check(items[i], "checks[" + std::to_string(i) + "]"));
  }
}

void CheckRequest::plan(Micros now) {
  checks.clear();
  decisions.clear();
  each.assign(items.size(), Decision{});
  for (const Item& item : items) checks.push_back(Check{&item.spec, item.key, item.cost});
  const std::span<const Check> all(checks);
  const std::span<Decision> out(each);
  if (!batch) {
    decisions.push_back({.checks = all, .cost = items.front().cost, .now = now, .each = out, .result = {}, .error = nullptr});
  } else if (atomic) {
    // Cost 1 with every check's own cost: a check of cost 0 is a peek
    // within the decision (Check::cost), as the batch asked.
    decisions.push_back({.checks = all, .cost = 1, .now = now, .each = out, .result = {}, .error = nullptr});
  } else {
    for (std::size_t i = 0; i < items.size(); ++i) {
      decisions.push_back(
          {.checks = all.subspan(i, 1), .cost = items[i].cost, .now = now, .each = out.subspan(i, 1), .result = {}, .error = nullptr});
    }
  }
}

HttpReply render_check(const CheckRequest& request, DecisionOutcome& outcome) {
  return with_error_replies(
      [&]() -> HttpReply {
        for (const auto& d : request.decisions) {
          if (d.error) std::rethrow_exception(d.error);
        }
        if (!request.batch) return single_reply(request.items.front(), request.decisions.front().result, outcome);
        json::object out;
        bool all = true;
        json::array results;
        for (std::size_t i = 0; i < request.each.size(); ++i) {
          const Decision& d = request.each[i];
          // The analytics rank the first denied key of a batch.
          if (all && !d.allowed) outcome.identifier = request.items[i].key;
          outcome.cost = i == 0 ? request.items[i].cost : outcome.cost + request.items[i].cost;
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

HttpReply handle_check(std::string_view body, ratelimit::Store& store,
                       const ratelimit::Clock& clock, DecisionOutcome& outcome) {
  CheckRequest request;
  return with_error_replies(
      [&]() -> HttpReply {
        parse_check_request(body, request);
        if (!request.batch) {  // the common case, without a batch's bookkeeping
          const CheckRequest::Item& item = request.items.front();
          const Check check{&item.spec, item.key, item.cost};
          return single_reply(item, store.decide_one(check, item.cost, clock.now()), outcome);
        }
        request.plan(clock.now());
        store.decide_batch(request.decisions);
        return render_check(request, outcome);
      },
      [&] { outcome.store_error = true; });
}

}  // namespace ratelimitd
