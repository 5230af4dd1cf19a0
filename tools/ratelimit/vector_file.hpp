#pragma once
/// @file vector_file.hpp
/// Conformance vector files (tests/conformance/vectors/README.md, format 1):
/// parsed and validated completely before any step runs.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/limit_spec.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::cli {

/// A vector file that does not say what the runner needs. The message names
/// the JSON location ("steps[3].checks[0].limit") and the problem.
class VectorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One decision as the vector prescribes it. `retry_after` is kInfinite for
/// `null` (cost > limit).
struct Expected {
  bool allowed = false;
  std::int64_t limit = 0;
  std::int64_t remaining = 0;
  Micros reset_after = 0;
  Micros retry_after = 0;
  Micros delay = 0;
  std::string name;
};

enum class Op { check, peek, reset };

struct Step {
  Op op = Op::check;
  Micros at = 0;
  std::int64_t cost = 0;
  std::vector<std::size_t> limits;      ///< per check: index into Case::specs
  std::vector<std::string> store_keys;  ///< per check: limit name + separator + key
  std::vector<std::string> labels;      ///< per check: "limit:key", for messages
  std::optional<Expected> combined;     ///< present iff the step has "expect"
  std::vector<Expected> each;           ///< empty unless "expect" has "each"
};

struct Case {
  std::vector<std::string> names;
  std::vector<LimitSpec> specs;
  std::vector<Step> steps;
};

/// Parses one vector from JSON text. Throws VectorError (or InvalidLimitSpec
/// for a limit the library refuses) naming what is wrong and where.
Case parse_case(std::string_view text);

/// Reads and parses one vector file; same errors, plus unreadable files.
Case load_case(const std::filesystem::path& file);

/// "path[i]", as messages spell array elements.
std::string at_index(const std::string& path, std::size_t i);

}  // namespace ratelimit::cli
