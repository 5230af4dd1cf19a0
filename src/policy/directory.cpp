// Runtime tier assignments, whitelist/denylist entries and their audit trail,
// stored as JSON records in an AttributeStore.
#include "ratelimit/policy/directory.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>

#include "ratelimit/store.hpp"

namespace ratelimit::policy {
namespace json = boost::json;
namespace {

// Record keys. Identifiers come last so a prefix lists one kind of record.
constexpr std::string_view kTierPrefix = "tier/";
std::string tier_key(IdType type, std::string_view id) {
  return std::string(kTierPrefix) + std::string(to_string(type)) + "/" + std::string(id);
}
std::string list_prefix(ListKind kind) { return kind == ListKind::whitelist ? "allow/" : "deny/"; }
std::string list_key(ListKind kind, IdType type, std::string_view id) {
  return list_prefix(kind) + std::string(to_string(type)) + "/" + std::string(id);
}
std::string range_prefix(ListKind kind) {
  return kind == ListKind::whitelist ? "allow-range/" : "deny-range/";
}
constexpr std::string_view kAuditPrefix = "audit/";

std::string text_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}
Micros micros_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

// A tier record's JSON as a TierGrant.
TierGrant grant_from(const json::object& o, std::optional<Micros> expires_at) {
  return TierGrant{text_of(o, "tier"), text_of(o, "added_by"), micros_of(o, "added_at"),
                   expires_at};
}

// A record another build (or a person with redis-cli) wrote wrongly is
// skipped, not fatal: one bad record must not take the policy down.
std::optional<json::object> parse_object(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

ListEntry entry_from(const AttributeStore::Record& record, IdType type, std::string id,
                     std::optional<CidrRange> range) {
  ListEntry e;
  e.type = type;
  e.id = std::move(id);
  e.range = range;
  e.expires_at = record.expires_at;
  if (auto o = parse_object(record.value)) {
    e.reason = text_of(*o, "reason");
    e.added_by = text_of(*o, "added_by");
    e.added_at = micros_of(*o, "added_at");
  }
  return e;
}

// "allow/user/u42" -> (user, "u42").
std::optional<std::pair<IdType, std::string>> split_typed(std::string_view rest) {
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto type = parse_id_type(rest.substr(0, slash));
  if (!type) return std::nullopt;
  return std::pair{*type, std::string(rest.substr(slash + 1))};
}

std::string subject(IdType type, std::string_view id) {
  return std::string(to_string(type)) + ":" + std::string(id);
}

}  // namespace

std::string_view to_string(ListKind kind) noexcept {
  return kind == ListKind::whitelist ? "whitelist" : "denylist";
}

Directory::Directory(AttributeStore& store, const Clock& clock, IdentifierHasher hasher,
                     Micros refresh_interval)
    : store_(store),
      clock_(clock),
      hasher_(std::move(hasher)),
      refresh_interval_(refresh_interval),
      snapshot_(std::make_shared<DirectorySnapshot>()) {}

std::string Directory::stored_id(IdType type, std::string_view id) const {
  if (id.empty() || id.size() > 256) {
    throw InvalidRequest(std::string(to_string(type)) +
                         " identifier must be 1 to 256 bytes long (got " +
                         std::to_string(id.size()) + ")");
  }
  switch (type) {
    case IdType::api_key:
      return hasher_.hash(id);
    case IdType::ip: {
      const auto address = IpAddress::parse(id);
      if (!address)
        throw InvalidRequest("ip '" + std::string(id) + "' is not an IPv4 or IPv6 address");
      return address->to_string();
    }
    case IdType::user:
      break;
  }
  return std::string(id);
}

void Directory::record_audit(std::string_view actor, std::string action, std::string subject_text,
                             std::string detail) {
  const Micros now = clock_.now();
  json::object o;
  o["at"] = now;
  o["actor"] = actor;
  o["action"] = action;
  o["subject"] = subject_text;
  o["detail"] = detail;
  // Sorted by time: a fixed-width instant, then a per-process sequence and a
  // random-ish suffix so two instances writing at one µs do not collide.
  char key[80];
  std::snprintf(key, sizeof key, "audit/%016lld-%08llx-%p", static_cast<long long>(now),
                static_cast<unsigned long long>(audit_sequence_.fetch_add(1)),
                static_cast<const void*>(this));
  store_.put({key, json::serialize(o), now + kAuditRetention});
}

void Directory::assign_tier(IdType type, std::string_view id, std::string_view tier,
                            std::optional<Micros> ttl, std::string_view actor) {
  const std::string stored = stored_id(type, id);
  const Micros now = clock_.now();
  json::object o;
  o["tier"] = tier;
  o["added_by"] = actor;
  o["added_at"] = now;
  std::optional<Micros> expires;
  if (ttl) expires = now + *ttl;
  store_.put({tier_key(type, stored), json::serialize(o), expires});
  record_audit(actor, "tier.assign", subject(type, stored), std::string(tier));
  invalidate();
}

std::optional<TierGrant> Directory::tier_of(IdType type, std::string_view id) {
  const auto record = store_.get(tier_key(type, stored_id(type, id)), clock_.now());
  if (!record) return std::nullopt;
  const auto o = parse_object(record->value);
  if (!o) return std::nullopt;
  return grant_from(*o, record->expires_at);
}

bool Directory::remove_tier(IdType type, std::string_view id, std::string_view actor) {
  const std::string stored = stored_id(type, id);
  const bool removed = store_.erase(tier_key(type, stored), clock_.now());
  if (removed) {
    record_audit(actor, "tier.remove", subject(type, stored), "");
    invalidate();
  }
  return removed;
}

std::vector<Directory::TierListing> Directory::tiers() {
  std::vector<TierListing> out;
  for (const auto& record : store_.list(kTierPrefix, clock_.now())) {
    const auto typed = split_typed(std::string_view(record.key).substr(kTierPrefix.size()));
    const auto o = parse_object(record.value);
    if (!typed || !o) continue;
    out.push_back({typed->first, typed->second, grant_from(*o, record.expires_at)});
  }
  return out;
}

void Directory::add(ListKind kind, ListEntry entry, std::optional<Micros> ttl,
                    std::string_view actor) {
  const Micros now = clock_.now();
  std::string key;
  std::string subject_text;
  if (entry.range) {
    key = range_prefix(kind) + entry.range->to_string();
    subject_text = "ip:" + entry.range->to_string();
  } else {
    const std::string stored = stored_id(entry.type, entry.id);
    key = list_key(kind, entry.type, stored);
    subject_text = subject(entry.type, stored);
  }
  json::object o;
  o["reason"] = entry.reason;
  o["added_by"] = actor;
  o["added_at"] = now;
  std::optional<Micros> expires = entry.expires_at;
  if (ttl) expires = now + *ttl;
  store_.put({key, json::serialize(o), expires});
  record_audit(actor, std::string(to_string(kind)) + ".add", subject_text, entry.reason);
  invalidate();
}

bool Directory::remove(ListKind kind, IdType type, std::string_view id, bool range,
                       std::string_view actor) {
  std::string key;
  std::string subject_text;
  if (range) {
    const CidrRange r = parse_cidr(id);  // InvalidCidr names the problem
    key = range_prefix(kind) + r.to_string();
    subject_text = "ip:" + r.to_string();
  } else {
    const std::string stored = stored_id(type, id);
    key = list_key(kind, type, stored);
    subject_text = subject(type, stored);
  }
  const bool removed = store_.erase(key, clock_.now());
  if (removed) {
    record_audit(actor, std::string(to_string(kind)) + ".remove", subject_text, "");
    invalidate();
  }
  return removed;
}

std::vector<ListEntry> Directory::entries(ListKind kind, std::optional<IdType> type) {
  const Micros now = clock_.now();
  std::vector<ListEntry> out;
  for (const auto& record : store_.list(list_prefix(kind), now)) {
    const auto typed = split_typed(std::string_view(record.key).substr(list_prefix(kind).size()));
    if (!typed || (type && *type != typed->first)) continue;
    out.push_back(entry_from(record, typed->first, typed->second, std::nullopt));
  }
  if (!type || *type == IdType::ip) {
    for (const auto& record : store_.list(range_prefix(kind), now)) {
      const std::string cidr = record.key.substr(range_prefix(kind).size());
      try {
        const CidrRange r = parse_cidr(cidr);
        out.push_back(entry_from(record, IdType::ip, r.to_string(), r));
      } catch (const InvalidCidr&) {
        // A foreign record: skipped (see parse_object).
      }
    }
  }
  return out;
}

std::vector<AuditRecord> Directory::audit(std::size_t limit) {
  auto records = store_.list(kAuditPrefix, clock_.now());
  std::vector<AuditRecord> out;
  for (auto it = records.rbegin(); it != records.rend() && out.size() < limit; ++it) {
    const auto o = parse_object(it->value);
    if (!o) continue;
    out.push_back({micros_of(*o, "at"), text_of(*o, "actor"), text_of(*o, "action"),
                   text_of(*o, "subject"), text_of(*o, "detail")});
  }
  return out;
}

std::size_t Directory::purge_expired() {
  const std::size_t purged = store_.purge_expired(clock_.now());
  if (purged > 0) invalidate();
  return purged;
}

std::shared_ptr<const DirectorySnapshot> Directory::snapshot(Micros now) {
  if (now >= next_check_.load(std::memory_order_relaxed)) refresh(now);
  return snapshot_.load();
}

const std::shared_ptr<const DirectorySnapshot>& Directory::thread_snapshot(Micros now) {
  if (now >= next_check_.load(std::memory_order_relaxed)) refresh(now);
  return snapshot_.thread_copy();
}

void Directory::refresh(Micros now) {
  std::unique_lock lock(refresh_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;  // another thread is refreshing; use the current snapshot
  next_check_.store(now + refresh_interval_, std::memory_order_relaxed);
  try {
    const std::uint64_t generation = store_.generation();
    if (generation == snapshot_.load()->generation) return;
    auto next = std::make_shared<DirectorySnapshot>();
    next->generation = generation;
    for (auto& t : tiers()) {
      next->tiers[static_cast<std::size_t>(t.type)].emplace(std::move(t.id), std::move(t.grant));
    }
    for (const ListKind kind : {ListKind::whitelist, ListKind::denylist}) {
      auto& ids = kind == ListKind::whitelist ? next->whitelist : next->denylist;
      auto& range_entries = kind == ListKind::whitelist ? next->whitelist_range_entries
                                                        : next->denylist_range_entries;
      std::vector<std::pair<CidrRange, std::uint32_t>> ranges;
      for (auto& e : entries(kind)) {
        if (e.range) {
          ranges.emplace_back(*e.range, static_cast<std::uint32_t>(range_entries.size()));
          range_entries.push_back(std::move(e));
        } else {
          const auto type = static_cast<std::size_t>(e.type);
          std::string id = e.id;
          ids[type].emplace(std::move(id), std::move(e));
        }
      }
      (kind == ListKind::whitelist ? next->whitelist_ranges : next->denylist_ranges) =
          CidrSet(std::move(ranges));
    }
    snapshot_.store(std::move(next));
  } catch (const StoreUnavailable&) {
    refresh_failures_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace ratelimit::policy
