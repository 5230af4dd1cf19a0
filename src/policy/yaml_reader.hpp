#pragma once
/// @file yaml_reader.hpp
/// Typed, checked reading of YAML maps for the config loader: every accessor
/// reports wrong types and bad values with their position, and `finish`
/// reports keys nobody asked for (with a "did you mean" hint) and duplicates.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/policy/config_loader.hpp"

namespace ratelimit::policy::yaml {

/// Collects problems with their positions.
class Issues {
 public:
  explicit Issues(std::string file) : file_(std::move(file)) {}
  void add(const YAML::Mark& mark, std::string message, std::string hint = {});
  void add(const YAML::Node& node, std::string message, std::string hint = {}) {
    add(node.Mark(), std::move(message), std::move(hint));
  }
  [[nodiscard]] bool empty() const noexcept { return issues_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return issues_.size(); }
  [[nodiscard]] std::vector<ConfigIssue> take() { return std::move(issues_); }
  [[nodiscard]] const std::string& file() const noexcept { return file_; }

 private:
  std::string file_;
  std::vector<ConfigIssue> issues_;
};

/// The closest of `candidates` to `word` by edit distance, if close enough to
/// be a likely typo; empty otherwise.
[[nodiscard]] std::string closest(std::string_view word,
                                  const std::vector<std::string>& candidates);

/// One YAML map being read. `what` names it in messages ("tier 'free'").
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string what, Issues& issues);

  /// False when the node was not a map (already reported).
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] const YAML::Node& node() const noexcept { return node_; }
  [[nodiscard]] const std::string& what() const noexcept { return what_; }
  [[nodiscard]] Issues& issues() noexcept { return issues_; }

  /// The value under `key` (marked as known); an undefined node when absent.
  [[nodiscard]] YAML::Node get(std::string_view key);
  /// Marks a key as known without reading it (e.g. read elsewhere).
  void allow(std::string_view key) { known_.emplace_back(key); }
  [[nodiscard]] bool has(std::string_view key);

  std::optional<std::string> string(std::string_view key);
  std::optional<bool> boolean(std::string_view key);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<double> number(std::string_view key, double min_exclusive, double max);
  std::optional<Micros> duration(std::string_view key);
  std::optional<Micros> timestamp(std::string_view key);

  /// Reports keys never asked for and duplicated keys. Call once, last.
  void finish();

  /// A required key was absent: reported at the map.
  void missing(std::string_view key, std::string hint = {});

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
  };
  /// The scalar text under key, or nullopt (absent, or reported as not a scalar).
  std::optional<std::string> scalar(std::string_view key, std::string_view expected);

  YAML::Node node_;
  std::string what_;
  Issues& issues_;
  bool ok_ = false;
  std::vector<Entry> entries_;
  std::vector<std::string> known_;
};

/// Where a node is, for messages that point back at an earlier definition.
[[nodiscard]] std::string line_of(const YAML::Node& node);

}  // namespace ratelimit::policy::yaml
