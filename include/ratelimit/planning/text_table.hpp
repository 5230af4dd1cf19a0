#pragma once
/// @file text_table.hpp
/// Aligned plain-text tables for the planning commands' default output.

#include <ostream>
#include <string>
#include <vector>

namespace ratelimit::planning {

class TextTable {
 public:
  /// `right_aligned[i]`: column i holds numbers (aligned right).
  TextTable(std::vector<std::string> headers, std::vector<bool> right_aligned);
  void add_row(std::vector<std::string> cells);
  /// Columns two spaces apart, a dashed line under the headers.
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

/// `v` with `decimals` digits after the point and thousands separated by ','
/// ("27,306.67"). Infinity prints as "inf".
[[nodiscard]] std::string format_number(double v, int decimals);

}  // namespace ratelimit::planning
