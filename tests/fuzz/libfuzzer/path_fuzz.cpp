// libFuzzer target for request path normalization and endpoint patterns
// (ratelimit::policy). For any input:
//  - normalize (two option sets): the output starts with '/', has no "//", no
//    trailing '/' (except "/"), no "." or ".." segment, fits
//    max_normalized_size, and normalizes to itself;
//  - parse_endpoint_pattern: throws only InvalidEndpointPattern; a parsed
//    pattern's canonical text parses back to the same pattern, and a path
//    built from the pattern matches it;
//  - EndpointTable::match on a fixed table (plus the parsed pattern, if any)
//    agrees with a brute-force reference, for the normalized input and the
//    raw input.
// Seed corpus: tests/fuzz/corpus/path/. Build (clang):
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
//     tests/fuzz/libfuzzer/path_fuzz.cpp src/policy/path_normalizer.cpp \
//     src/policy/endpoint_table.cpp -o path_fuzz

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "ratelimit/policy/endpoint_table.hpp"
#include "ratelimit/policy/path_normalizer.hpp"
#include "support/policy_reference.hpp"

namespace {

using ratelimit::policy::EndpointPattern;
using ratelimit::policy::EndpointTable;
using ratelimit::policy::InvalidEndpointPattern;
using ratelimit::policy::NormalizeOptions;
using ratelimit::policy::parse_endpoint_pattern;
using ratelimit::policy::PathNormalizer;

[[noreturn]] void fail(const char* what, std::string_view input, std::string_view detail) {
  std::fprintf(stderr, "path_fuzz: %s\n  input:  \"%.*s\"\n  detail: \"%.*s\"\n", what,
               static_cast<int>(input.size()), input.data(), static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void check_normalized(const PathNormalizer& normalizer, std::string_view input) {
  const std::string out = normalizer.normalize(input);
  if (out.empty() || out.front() != '/') fail("output does not start with '/'", input, out);
  if (out.find("//") != std::string::npos) fail("output contains \"//\"", input, out);
  if (out.size() > 1 && out.back() == '/') fail("output has a trailing '/'", input, out);
  if (out.find_first_of("?#") != std::string::npos) fail("output has '?' or '#'", input, out);
  for (std::size_t pos = 1; pos <= out.size();) {
    std::size_t end = out.find('/', pos);
    if (end == std::string::npos) end = out.size();
    const std::string_view segment = std::string_view(out).substr(pos, end - pos);
    if (segment == "." || segment == "..") fail("output has a dot segment", input, out);
    pos = end + 1;
  }
  if (out.size() > normalizer.max_normalized_size(input.size())) {
    fail("output longer than max_normalized_size", input, out);
  }
  if (normalizer.normalize(out) != out) fail("normalize is not idempotent", input, out);
}

const std::vector<EndpointPattern>& fixed_patterns() {
  static const std::vector<EndpointPattern> patterns = [] {
    std::vector<EndpointPattern> p;
    for (const char* text :
         {"GET /users/{id}", "GET /users/me", "GET /users/**", "* /users/me", "POST /users",
          "GET /users/*/orders/*", "GET /users/{u}/orders/**", "GET /a/*", "GET /*/b", "PUT /a/b",
          "* /", "GET /%7e/a%2fb", "DELETE /**", "* /x/**"}) {
      p.push_back(parse_endpoint_pattern(text));
    }
    return p;
  }();
  return patterns;
}

/// Every pattern ranked by the precedence documented in endpoint_table.hpp.
void check_match(const std::vector<EndpointPattern>& patterns, const EndpointTable& table,
                 std::string_view input, std::string_view path) {
  for (const std::string_view method : {"GET", "POST", "PUT", "DELETE", "get", ""}) {
    const auto got = table.match(method, path);
    if (!path.empty() && path.front() == '/' && got != ratelimit::policy::reference::endpoint_match(patterns, method, path)) {
      fail("match disagrees with the reference", input, path);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  static const PathNormalizer normalizer;
  static const PathNormalizer variant(NormalizeOptions{
      .numeric_ids = true, .uuids = false, .opaque_min_length = 3, .placeholder = "~"});
  check_normalized(normalizer, input);
  check_normalized(variant, input);
  const std::string normalized = normalizer.normalize(input);

  std::vector<EndpointPattern> patterns = fixed_patterns();
  std::optional<EndpointPattern> parsed;
  try {
    parsed = parse_endpoint_pattern(input);
  } catch (const InvalidEndpointPattern&) {
  }
  if (parsed) {
    const EndpointPattern again = parse_endpoint_pattern(parsed->text);
    if (!(again == *parsed)) fail("canonical text parses to another pattern", input, parsed->text);

    // A path made from the pattern (wildcards as "x", "**" as zero or two
    // segments) matches it.
    std::string path;
    for (const std::string& s : parsed->segments) {
      path += '/';
      path += (s == "*" || s.front() == '{') ? std::string("x") : s;
    }
    if (path.empty()) path = "/";
    const std::string method = parsed->method == "*" ? "PATCH" : parsed->method;
    const EndpointTable single({*parsed});
    if (single.match(method, path) != 0u) fail("pattern does not match its own path", input, path);
    if (parsed->tail) {
      const std::string longer = (path == "/" ? std::string() : path) + "/y/z";
      if (single.match(method, longer) != 0u) fail("\"**\" does not match", input, longer);
    }
    patterns.push_back(*parsed);
  }

  const EndpointTable table(patterns);
  check_match(patterns, table, input, normalized);
  check_match(patterns, table, input, input);
  return 0;
}
