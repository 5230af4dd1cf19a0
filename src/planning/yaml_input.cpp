#include "yaml_input.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace ratelimit::planning::detail {

YAML::Node load_yaml_file(const std::string& path, policy::yaml::Issues& issues) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw policy::ConfigError({policy::ConfigIssue{path, 0, 0, "cannot read the file",
                                                   "check the path and its permissions"}});
  }
  std::ostringstream text;
  text << in.rdbuf();
  try {
    YAML::Node root = YAML::Load(text.str());
    if (!root.IsDefined() || root.IsNull()) {
      throw policy::ConfigError({policy::ConfigIssue{path, 0, 0, "the file is empty", ""}});
    }
    return root;
  } catch (const YAML::Exception& e) {
    issues.add(e.mark, "not valid YAML: " + e.msg);
    throw policy::ConfigError(issues.take());
  }
}

std::optional<double> non_negative(policy::yaml::MapReader& map, std::string_view key, double max) {
  const YAML::Node value = map.get(key);
  if (!value.IsDefined()) return std::nullopt;
  const std::string where = "'" + std::string(key) + "' in " + map.what();
  if (!value.IsScalar()) {
    map.issues().add(value, where + " must be a number");
    return std::nullopt;
  }
  const std::string& text = value.Scalar();
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v)) {
    map.issues().add(value, where + " must be a number, not '" + text + "'");
    return std::nullopt;
  }
  if (v < 0 || v > max) {
    std::ostringstream range;
    range << "0.." << max;
    map.issues().add(value, where + " is " + text + ", outside " + range.str());
    return std::nullopt;
  }
  return v;
}

void throw_if_any(policy::yaml::Issues& issues) {
  if (!issues.empty()) throw policy::ConfigError(issues.take());
}

}  // namespace ratelimit::planning::detail
