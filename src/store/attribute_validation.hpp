#pragma once
// Input validation shared by every AttributeStore: the same bad record gets
// the same InvalidRequest from the memory and the Redis implementation (internal).

#include <string_view>

#include "ratelimit/attribute_store.hpp"

namespace ratelimit {

/// Throws InvalidRequest unless `key` has 1 .. AttributeStore::kMaxKeyLength bytes.
void validate_attribute_key(std::string_view key);
/// Throws InvalidRequest unless the key is valid (see validate_attribute_key),
/// the value has at most AttributeStore::kMaxValueLength bytes and
/// `expires_at`, if set, is an instant in 0 .. kMaxInstant.
void validate_attribute_record(const AttributeStore::Record& record);

}  // namespace ratelimit
