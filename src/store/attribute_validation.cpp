// Validation of AttributeStore input, shared by every implementation.

#include "store/attribute_validation.hpp"

#include <string>

#include "core/request_validation.hpp"

namespace ratelimit {

void validate_attribute_key(std::string_view key) {
  if (key.empty()) throw InvalidRequest("attribute key is empty");
  if (key.size() > AttributeStore::kMaxKeyLength) {
    throw InvalidRequest("attribute key is " + std::to_string(key.size()) + " bytes; at most " +
                         std::to_string(AttributeStore::kMaxKeyLength) + " are allowed");
  }
}

void validate_attribute_record(const AttributeStore::Record& record) {
  validate_attribute_key(record.key);
  if (record.value.size() > AttributeStore::kMaxValueLength) {
    throw InvalidRequest("attribute value is " + std::to_string(record.value.size()) +
                         " bytes; at most " + std::to_string(AttributeStore::kMaxValueLength) +
                         " are allowed");
  }
  if (record.expires_at) validate_instant(*record.expires_at);
}

}  // namespace ratelimit
