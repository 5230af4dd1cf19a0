#pragma once
// The metric names a PromQL expression reads, for checking that the shipped
// dashboard and alert rules name only metrics ratelimitd exposes. A small
// scanner, not a parser: it skips strings, label matchers {...}, ranges
// [...], Grafana variables ($name, ${name}), numbers, keywords, function and
// aggregation names (an identifier followed by '(') and the label lists of
// by / without / on / ignoring / group_left / group_right (also when the
// grouping comes before the aggregated expression: `sum by (job) (x)`).

#include <cctype>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ratelimit::testing {

inline std::set<std::string> promql_metric_names(std::string_view expr) {
  // Grafana's label_values(METRIC_SELECTOR, LABEL): only the selector is PromQL.
  constexpr std::string_view kLabelValues = "label_values(";
  if (expr.substr(0, kLabelValues.size()) == kLabelValues) {
    const auto comma = expr.rfind(',');
    if (comma == std::string_view::npos || comma < kLabelValues.size())
      throw std::invalid_argument("label_values without a label: " + std::string(expr));
    expr = expr.substr(kLabelValues.size(), comma - kLabelValues.size());
  }
  const auto is_start = [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
  };
  const auto is_part = [&](char c) {
    return is_start(c) || std::isdigit(static_cast<unsigned char>(c)) != 0;
  };
  // Skips from an opening bracket to just past its match, over strings.
  const auto skip_group = [&](std::size_t i, char open, char close) {
    int depth = 0;
    for (; i < expr.size(); ++i) {
      const char c = expr[i];
      if (c == '"' || c == '\'') {
        for (++i; i < expr.size() && expr[i] != c; ++i) {
          if (expr[i] == '\\') ++i;
        }
      } else if (c == open) {
        ++depth;
      } else if (c == close && --depth == 0) {
        return i + 1;
      }
    }
    throw std::invalid_argument("unbalanced '" + std::string(1, open) + "' in " +
                                std::string(expr));
  };
  static const std::set<std::string, std::less<>> kKeywords = {
      "and", "or", "unless", "offset", "bool", "atan2", "inf", "nan", "Inf", "NaN"};
  static const std::set<std::string, std::less<>> kLabelLists = {
      "by", "without", "on", "ignoring", "group_left", "group_right"};
  std::set<std::string> names;
  std::size_t i = 0;
  while (i < expr.size()) {
    const char c = expr[i];
    if (c == '"' || c == '\'') {
      for (++i; i < expr.size() && expr[i] != c; ++i) {
        if (expr[i] == '\\') ++i;
      }
      ++i;
    } else if (c == '{') {
      i = skip_group(i, '{', '}');
    } else if (c == '[') {
      i = skip_group(i, '[', ']');
    } else if (c == '$') {
      ++i;
      if (i < expr.size() && expr[i] == '{') {
        i = skip_group(i, '{', '}');
      } else {
        while (i < expr.size() && is_part(expr[i])) ++i;
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.') {
      while (i < expr.size() && (is_part(expr[i]) || expr[i] == '.')) ++i;  // 0.99, 1e3, 5m
    } else if (is_start(c)) {
      const std::size_t begin = i;
      while (i < expr.size() && is_part(expr[i])) ++i;
      const std::string word(expr.substr(begin, i - begin));
      std::size_t next = i;
      while (next < expr.size() && std::isspace(static_cast<unsigned char>(expr[next])) != 0)
        ++next;
      // A call, or an aggregation with its grouping first: `sum by (job) (...)`.
      std::size_t after = next;
      while (after < expr.size() && is_part(expr[after])) ++after;
      const std::string_view next_word = expr.substr(next, after - next);
      const bool call =
          (next < expr.size() && expr[next] == '(') || next_word == "by" || next_word == "without";
      if (kLabelLists.contains(word)) {
        if (call) i = skip_group(next, '(', ')');
      } else if (!call && !kKeywords.contains(word)) {
        names.insert(word);
      }
    } else {
      ++i;
    }
  }
  return names;
}

}  // namespace ratelimit::testing
