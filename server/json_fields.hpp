#pragma once
// Typed reads of request JSON members for the handlers: a wrong type, an
// unknown member or a non-integer number is a BadField naming the member
// (internal to ratelimitd).

#include <boost/json.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace ratelimitd {

/// Bad input, with the member it is about (a JSON path, e.g. "checks[2].limit").
struct BadField {
  std::string field;
  std::string detail;
};

/// `prefix.name`, or `name` at the top level.
[[nodiscard]] std::string field_name(const std::string& prefix, std::string_view name);

/// Throws BadField for the first member of `o` not in `known`.
void reject_unknown(const boost::json::object& o, std::initializer_list<std::string_view> known,
                    const std::string& prefix);

/// An integer member, if present (null counts as absent). Numbers with a
/// fraction, or outside int64, are rejected rather than rounded.
[[nodiscard]] std::optional<std::int64_t> integer_field(const boost::json::object& o,
                                                        std::string_view name,
                                                        const std::string& prefix);

/// A string member, if present (null counts as absent).
[[nodiscard]] std::optional<std::string> string_field(const boost::json::object& o,
                                                      std::string_view name,
                                                      const std::string& prefix);

/// Parses `body` as one JSON object (at most 8 levels deep); throws BadField
/// with field "body" otherwise.
[[nodiscard]] boost::json::object parse_object(std::string_view body);

}  // namespace ratelimitd
