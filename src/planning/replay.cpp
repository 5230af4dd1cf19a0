#include "ratelimit/planning/replay.hpp"

#include <algorithm>

#include "ratelimit/memory_store.hpp"
#include "ratelimit/policy/engine.hpp"

namespace ratelimit::planning {

struct Replayer::Impl {
  Impl(policy::PolicyConfig config, IdentifierKind kind)
      : attributes(make_memory_attribute_store()),
        engine(store, *attributes, clock, std::move(config)),
        by(kind) {}

  ManualClock clock{0};
  MemoryStore store;
  std::unique_ptr<AttributeStore> attributes;
  policy::PolicyEngine engine;
  IdentifierKind by;
  ReplayResult totals;
  std::unordered_map<std::string, std::uint64_t> limited_by_id;
  std::unordered_map<std::string, std::uint64_t> limited_by_scope;
};

Replayer::Replayer(policy::PolicyConfig config, IdentifierKind by)
    : impl_(std::make_unique<Impl>(std::move(config), by)) {}

Replayer::~Replayer() = default;

void Replayer::add(const LogRecord& r) {
  auto& s = *impl_;
  ++s.totals.requests;
  s.clock.set(r.time);
  policy::PolicyDecision d;
  try {
    d = s.engine.decide(policy::Request{
        .user = r.user, .api_key = r.api_key, .ip = r.ip, .method = r.method, .path = r.path});
  } catch (const std::exception& e) {
    if (s.totals.invalid++ == 0) s.totals.first_invalid = e.what();
    return;
  }
  if (d.allowed) return;
  ++s.totals.limited;
  std::string_view id = r.ip;
  if (s.by == IdentifierKind::user) id = r.user;
  if (s.by == IdentifierKind::api_key) id = r.api_key;
  if (id.empty()) {
    ++s.totals.limited_without_identifier;
  } else {
    ++s.limited_by_id[std::string(id)];
  }
  ++s.limited_by_scope[d.scope];
}

ReplayResult Replayer::result(std::size_t top) const {
  ReplayResult out = impl_->totals;
  out.identifiers_limited = impl_->limited_by_id.size();
  std::vector<std::pair<std::string, std::uint64_t>> ids(impl_->limited_by_id.begin(),
                                                         impl_->limited_by_id.end());
  const auto most = [](const auto& x, const auto& y) {
    return x.second != y.second ? x.second > y.second : x.first < y.first;
  };
  std::sort(ids.begin(), ids.end(), most);
  if (ids.size() > top) ids.resize(top);
  out.top_limited = std::move(ids);
  out.by_scope.assign(impl_->limited_by_scope.begin(), impl_->limited_by_scope.end());
  std::sort(out.by_scope.begin(), out.by_scope.end(), most);
  return out;
}

}  // namespace ratelimit::planning
