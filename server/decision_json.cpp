#include "decision_json.hpp"

namespace ratelimitd {

std::int64_t ms_rounded_up(ratelimit::Micros us) noexcept {
  return us <= 0 ? 0 : (us + ratelimit::kMicrosPerMilli - 1) / ratelimit::kMicrosPerMilli;
}

boost::json::object decision_json(const ratelimit::Decision& d) {
  boost::json::object o;
  o["allowed"] = d.allowed;
  o["limit"] = d.limit;
  o["remaining"] = d.remaining;
  o["reset_after_ms"] = ms_rounded_up(d.reset_after);
  if (d.never_admissible()) {
    o["retry_after_ms"] = nullptr;
    o["reason"] = "cost_exceeds_limit";
  } else {
    o["retry_after_ms"] = ms_rounded_up(d.retry_after);
  }
  if (d.delay > 0) o["delay_ms"] = ms_rounded_up(d.delay);
  if (d.degraded) o["degraded"] = true;
  return o;
}

HttpReply json_reply(const boost::json::object& body) {
  HttpReply reply;
  reply.body = boost::json::serialize(body);
  return reply;
}

}  // namespace ratelimitd
