#include "policy/yaml_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

namespace ratelimit::policy::yaml {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0U : 1U)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

// Shortest text of a number: 0, 1e+06, 0.5.
std::string number_text(double v) {
  char out[32];
  std::snprintf(out, sizeof out, "%g", v);
  return out;
}

}  // namespace

void Issues::add(const YAML::Mark& mark, std::string message, std::string hint) {
  ConfigIssue issue;
  issue.file = file_;
  // yaml-cpp counts from 0 and uses -1 for "no position".
  issue.line = mark.line < 0 ? 0 : mark.line + 1;
  issue.column = mark.column < 0 ? 0 : mark.column + 1;
  issue.message = std::move(message);
  issue.hint = std::move(hint);
  issues_.push_back(std::move(issue));
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string line_of(const YAML::Node& node) {
  return "line " + std::to_string(node.Mark().line + 1);
}

MapReader::MapReader(const YAML::Node& node, std::string what, Issues& issues)
    : node_(node), what_(std::move(what)), issues_(issues) {
  if (!node.IsMap()) {
    issues_.add(node, what_ + " must be a map of keys to values");
    return;
  }
  ok_ = true;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      issues_.add(it->first, "keys in " + what_ + " must be plain names");
      continue;
    }
    entries_.push_back(Entry{it->first.Scalar(), it->first, it->second});
  }
}

YAML::Node MapReader::get(std::string_view key) {
  known_.emplace_back(key);
  for (const auto& e : entries_) {
    if (e.key == key) return e.value;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

bool MapReader::has(std::string_view key) {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& e) { return e.key == key; });
}

void MapReader::missing(std::string_view key, std::string hint) {
  issues_.add(node_, what_ + " needs " + q(key), std::move(hint));
}

std::optional<std::string> MapReader::scalar(std::string_view key, std::string_view expected) {
  const YAML::Node value = get(key);
  if (!value.IsDefined()) return std::nullopt;
  if (value.IsNull()) {
    issues_.add(value, q(key) + " in " + what_ + " has no value",
                "expected " + std::string(expected));
    return std::nullopt;
  }
  if (!value.IsScalar()) {
    issues_.add(value, q(key) + " in " + what_ + " must be " + std::string(expected) + ", not a " +
                           (value.IsMap() ? "map" : "list"));
    return std::nullopt;
  }
  return value.Scalar();
}

std::optional<std::string> MapReader::string(std::string_view key) {
  return scalar(key, "a string");
}

std::optional<bool> MapReader::boolean(std::string_view key) {
  const auto text = scalar(key, "true or false");
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  issues_.add(get(key), q(key) + " in " + what_ + " must be true or false, not " + q(*text));
  return std::nullopt;
}

std::optional<std::int64_t> MapReader::integer(std::string_view key, std::int64_t min,
                                               std::int64_t max) {
  const auto text = scalar(key, "a whole number");
  if (!text) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc{} && end == text->data() + text->size() && (value < min || value > max))) {
    issues_.add(get(key), q(key) + " in " + what_ + " is " + *text + ", outside " +
                              std::to_string(min) + ".." + std::to_string(max));
    return std::nullopt;
  }
  if (ec != std::errc{} || end != text->data() + text->size()) {
    issues_.add(get(key), q(key) + " in " + what_ + " must be a whole number, not " + q(*text));
    return std::nullopt;
  }
  return value;
}

std::optional<double> MapReader::number(std::string_view key, double min_exclusive, double max) {
  const auto text = scalar(key, "a number");
  if (!text) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || !std::isfinite(value)) {
    issues_.add(get(key), q(key) + " in " + what_ + " must be a number, not " + q(*text));
    return std::nullopt;
  }
  if (!(value > min_exclusive) || value > max) {
    issues_.add(get(key), q(key) + " in " + what_ + " is " + *text + "; it must be above " +
                              number_text(min_exclusive) + " and at most " + number_text(max));
    return std::nullopt;
  }
  return value;
}

std::optional<Micros> MapReader::duration(std::string_view key) {
  const auto text = scalar(key, "a duration");
  if (!text) return std::nullopt;
  const auto value = parse_duration(*text);
  if (!value || *value <= 0) {
    issues_.add(get(key), q(key) + " in " + what_ + " must be a positive duration, not " + q(*text),
                "write a whole number and a unit: 250ms, 1s, 5m, 1h, 1d");
    return std::nullopt;
  }
  return value;
}

std::optional<Micros> MapReader::timestamp(std::string_view key) {
  const auto text = scalar(key, "a UTC timestamp");
  if (!text) return std::nullopt;
  const auto value = parse_timestamp(*text);
  if (!value) {
    issues_.add(get(key), q(key) + " in " + what_ + " must be a UTC timestamp, not " + q(*text),
                "write it as 2027-01-31T12:00:00Z");
    return std::nullopt;
  }
  return value;
}

void MapReader::finish() {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    for (std::size_t j = 0; j < i; ++j) {
      if (entries_[j].key == e.key) {
        issues_.add(e.key_node,
                    "duplicate key " + q(e.key) + " in " + what_ + " (first at " +
                        line_of(entries_[j].key_node) + ")",
                    "keep one of them");
        break;
      }
    }
    if (std::find(known_.begin(), known_.end(), e.key) != known_.end()) continue;
    std::vector<std::string> candidates = known_;
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    const std::string guess = closest(e.key, candidates);
    std::string hint;
    if (!guess.empty()) {
      hint = "did you mean " + q(guess) + "?";
    } else {
      hint = "known keys:";
      for (const auto& c : candidates) hint += " " + c;
    }
    issues_.add(e.key_node, "unknown key " + q(e.key) + " in " + what_, std::move(hint));
  }
}

}  // namespace ratelimit::policy::yaml
