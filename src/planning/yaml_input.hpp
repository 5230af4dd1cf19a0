#pragma once
// Shared by the planning file readers: load a YAML file with positioned
// errors, and read numbers that may be zero (the policy reader's `number`
// takes an exclusive minimum).

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>

#include "policy/yaml_reader.hpp"

namespace ratelimit::planning::detail {

/// The file's root node. Throws policy::ConfigError for an unreadable file
/// or invalid YAML (with its position).
[[nodiscard]] YAML::Node load_yaml_file(const std::string& path, policy::yaml::Issues& issues);

/// A number >= 0 and <= max under `key`; problems are reported at the value.
[[nodiscard]] std::optional<double> non_negative(policy::yaml::MapReader& map, std::string_view key,
                                                 double max);

/// Throws policy::ConfigError when `issues` holds any.
void throw_if_any(policy::yaml::Issues& issues);

}  // namespace ratelimit::planning::detail
