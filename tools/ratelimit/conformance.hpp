#pragma once
/// @file conformance.hpp
/// Replaying one parsed conformance vector against a store.

#include <cstddef>
#include <ostream>
#include <string>

#include "ratelimit/store.hpp"
#include "vector_file.hpp"

namespace ratelimit::cli {

/// Steps that matched and steps that did not (a step the store refused counts as failed).
struct Tally {
  std::size_t passed = 0;
  std::size_t failed = 0;
};

/// Runs every step of `c` on `store` (fresh for the case), writing each
/// failing field to `out` as "FAIL <file> step <i> <field>: expected x, got y"
/// (and, when `verbose`, every step).
Tally run_case(const Case& c, Store& store, const std::string& file, bool verbose, std::ostream& out);

}  // namespace ratelimit::cli
