#include "ratelimit/policy/endpoint_table.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "ratelimit/policy/path_normalizer.hpp"
#include "support/policy_reference.hpp"

namespace ratelimit::policy {
namespace {

std::string error_of(std::string_view text) {
  try {
    (void)parse_endpoint_pattern(text);
  } catch (const InvalidEndpointPattern& e) {
    return e.what();
  }
  return {};
}

EndpointTable table_of(const std::vector<std::string_view>& texts) {
  std::vector<EndpointPattern> patterns;
  for (const auto text : texts) patterns.push_back(parse_endpoint_pattern(text));
  return EndpointTable(std::move(patterns));
}

TEST(EndpointPattern, ParsesMethodSegmentsAndTail) {
  const EndpointPattern p = parse_endpoint_pattern("GET /users/{id}/orders/*");
  EXPECT_EQ(p.method, "GET");
  EXPECT_EQ(p.segments, (std::vector<std::string>{"users", "{id}", "orders", "*"}));
  EXPECT_FALSE(p.tail);
  EXPECT_EQ(p.text, "GET /users/{id}/orders/*");

  const EndpointPattern tail = parse_endpoint_pattern("  POST\t /files/** \t");
  EXPECT_EQ(tail.method, "POST");
  EXPECT_EQ(tail.segments, (std::vector<std::string>{"files"}));
  EXPECT_TRUE(tail.tail);
  EXPECT_EQ(tail.text, "POST /files/**");
}

TEST(EndpointPattern, CanonicalText) {
  const std::array<std::pair<std::string_view, std::string_view>, 9> cases{{
      {"* /", "* /"},
      {"GET /**", "GET /**"},
      {"GET  /a", "GET /a"},
      {"M-SEARCH /x", "M-SEARCH /x"},
      {"PURGE_2 /x", "PURGE_2 /x"},
      {"GET /%7euser/a%2fb", "GET /~user/a%2Fb"},
      {"GET /caf%c3%a9/%41", "GET /caf%C3%A9/A"},
      {"GET /{user_id}/{X9}", "GET /{user_id}/{X9}"},
      {"GET /.well-known/a.b/...", "GET /.well-known/a.b/..."},
  }};
  for (const auto& [text, canonical] : cases) {
    SCOPED_TRACE(std::string(text));
    const EndpointPattern p = parse_endpoint_pattern(text);
    EXPECT_EQ(p.text, canonical);
    EXPECT_EQ(parse_endpoint_pattern(p.text), p);
  }
  EXPECT_EQ(parse_endpoint_pattern("GET /").segments.size(), 0u);
  EXPECT_FALSE(parse_endpoint_pattern("GET /").tail);
  EXPECT_EQ(parse_endpoint_pattern("GET /%7euser").segments, (std::vector<std::string>{"~user"}));
}

TEST(EndpointPattern, ParseErrors) {
  const std::array<std::pair<std::string_view, std::string_view>, 26> cases{{
      {"", "invalid endpoint pattern \"\": missing method and path (expected \"METHOD /path\")"},
      {" \t",
       "invalid endpoint pattern \" \t\": missing method and path (expected \"METHOD /path\")"},
      {"/users",
       "invalid endpoint pattern \"/users\": missing method (expected \"METHOD /path\", e.g. \"GET "
       "/users\")"},
      {"GET", "invalid endpoint pattern \"GET\": missing path (expected \"METHOD /path\")"},
      {"GET  ", "invalid endpoint pattern \"GET  \": missing path (expected \"METHOD /path\")"},
      {"get /users",
       "invalid endpoint pattern \"get /users\": method must be uppercase, got \"get\" (write "
       "\"GET\")"},
      {"Post /users",
       "invalid endpoint pattern \"Post /users\": method must be uppercase, got \"Post\" (write "
       "\"POST\")"},
      {"G@T /x",
       "invalid endpoint pattern \"G@T /x\": invalid method \"G@T\" (expected an uppercase token "
       "such as \"GET\", or \"*\" for any method)"},
      {"1GET /x",
       "invalid endpoint pattern \"1GET /x\": invalid method \"1GET\" (expected an uppercase token "
       "such as \"GET\", or \"*\" for any method)"},
      {"** /x",
       "invalid endpoint pattern \"** /x\": invalid method \"**\" (expected an uppercase token "
       "such "
       "as \"GET\", or \"*\" for any method)"},
      {"GET users",
       "invalid endpoint pattern \"GET users\": path must start with '/', got \"users\""},
      {"GET /users?page=1",
       "invalid endpoint pattern \"GET /users?page=1\": query string not allowed (patterns match "
       "paths without the query)"},
      {"GET /a#b", "invalid endpoint pattern \"GET /a#b\": fragment ('#') not allowed"},
      {"GET /a /b", "invalid endpoint pattern \"GET /a /b\": whitespace in path"},
      {"GET /a\x01", "invalid endpoint pattern \"GET /a\x01\": control character in path"},
      {"GET /a//b",
       "invalid endpoint pattern \"GET /a//b\": empty segment (\"//\" or a trailing '/')"},
      {"GET /a/", "invalid endpoint pattern \"GET /a/\": empty segment (\"//\" or a trailing '/')"},
      {"GET /**/a", "invalid endpoint pattern \"GET /**/a\": \"**\" must be the last segment"},
      {"GET /a/../b",
       "invalid endpoint pattern \"GET /a/../b\": dot segment \"..\" (patterns match normalized "
       "paths, which have no \".\" or \"..\")"},
      {"GET /a/%2e",
       "invalid endpoint pattern \"GET /a/%2e\": dot segment \"%2e\" (patterns match normalized "
       "paths, which have no \".\" or \"..\")"},
      {"GET /a*",
       "invalid endpoint pattern \"GET /a*\": partial wildcard in segment \"a*\" (\"*\", \"**\" "
       "and "
       "\"{name}\" must be whole segments)"},
      {"GET /a}",
       "invalid endpoint pattern \"GET /a}\": partial wildcard in segment \"a}\" (\"*\", \"**\" "
       "and "
       "\"{name}\" must be whole segments)"},
      {"GET /{id",
       "invalid endpoint pattern \"GET /{id\": invalid placeholder \"{id\" (expected {name} with a "
       "name of [A-Za-z0-9_])"},
      {"GET /{}",
       "invalid endpoint pattern \"GET /{}\": invalid placeholder \"{}\" (expected {name} with a "
       "name of [A-Za-z0-9_])"},
      {"GET /{a-b}",
       "invalid endpoint pattern \"GET /{a-b}\": invalid placeholder \"{a-b}\" (expected {name} "
       "with "
       "a name of [A-Za-z0-9_])"},
      {"GET /a%2",
       "invalid endpoint pattern \"GET /a%2\": malformed '%' escape in segment \"a%2\" (expected "
       "'%' and two hex digits)"},
  }};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("row " + std::to_string(i));
    EXPECT_EQ(error_of(cases[i].first), cases[i].second);
  }
  EXPECT_THROW((void)parse_endpoint_pattern("GET /%zz"), std::invalid_argument);
}

TEST(EndpointTable, EmptyTableMatchesNothing) {
  const EndpointTable table;
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.match("GET", "/"), std::nullopt);
}

TEST(EndpointTable, Precedence) {
  const EndpointTable table = table_of({
      "GET /users/{id}",             // 0
      "GET /users/me",               // 1
      "GET /users/**",               // 2
      "* /users/me",                 // 3
      "* /health",                   // 4
      "GET /health",                 // 5
      "POST /users",                 // 6
      "GET /users/*/orders/*",       // 7
      "GET /users/{uid}/orders/**",  // 8
      "* /**",                       // 9
      "GET /users/{x}",              // 10: same rank as 0, later
      "GET /files/*/*",              // 11
      "GET /files/a/**",             // 12
      "GET /",                       // 13
      "PUT /users/*",                // 14
      "GET /health",                 // 15: duplicate of 5
      "* /a/*",                      // 16
      "* /*/b",                      // 17
  });
  EXPECT_EQ(table.size(), 18u);
  struct Row {
    std::string_view method;
    std::string_view path;
    std::optional<std::uint32_t> expected;
  };
  const std::array rows{
      Row{"GET", "/users/me", 1},                // exact beats {id} and **
      Row{"POST", "/users/me", 3},               // no POST rule: "*" exact beats "* /**"
      Row{"PUT", "/users/me", 14},               // exact method beats "*" with more literals
      Row{"GET", "/users/{id}", 0},              // one wildcard beats "**"; 0 before 10
      Row{"GET", "/users/42", 0},                //
      Row{"GET", "/users", 2},                   // "**" matches zero segments
      Row{"POST", "/users", 6},                  //
      Row{"GET", "/users/{id}/orders/{id}", 7},  // "**" counts as a wildcard
      Row{"GET", "/users/{id}/orders", 8},       //
      Row{"GET", "/users/a/b/c/d", 2},           //
      Row{"GET", "/health", 5},                  // exact method beats earlier "*"
      Row{"HEAD", "/health", 4},                 //
      Row{"DELETE", "/anything/else", 9},        //
      Row{"GET", "/", 13},                       //
      Row{"POST", "/", 9},                       // "**" matches the root
      Row{"GET", "/files/a/b", 12},              // more literals beats no "**"
      Row{"GET", "/files/x/y", 11},              //
      Row{"GET", "/files/x", 9},                 // only the catch-all
      Row{"get", "/users/me", 3},                // methods are case-sensitive
      Row{"", "/users/me", 3},                   //
      Row{"POST", "/a/b", 16},                   // equal rank: config order
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE("row " + std::to_string(i) + ": " + std::string(rows[i].method) + " " +
                 std::string(rows[i].path));
    EXPECT_EQ(table.match(rows[i].method, rows[i].path), rows[i].expected);
  }
}

TEST(EndpointTable, NoMatchWithoutCatchAll) {
  const EndpointTable table = table_of({"GET /a", "GET /a/*", "POST /b/**", "* /c"});
  EXPECT_EQ(table.match("GET", "/b"), std::nullopt);
  EXPECT_EQ(table.match("GET", "/a/b/c"), std::nullopt);
  EXPECT_EQ(table.match("PUT", "/a"), std::nullopt);
  EXPECT_EQ(table.match("GET", "/"), std::nullopt);
  EXPECT_EQ(table.match("GET", "/c"), 3u);
  EXPECT_EQ(table.match("POST", "/b"), 2u);
  EXPECT_EQ(table.match("GET", "/a/x"), 1u);
  // Not normalized: compared as is, never a crash.
  EXPECT_EQ(table.match("GET", ""), std::nullopt);
  EXPECT_EQ(table.match("GET", "a/x"), std::nullopt);
  EXPECT_EQ(table.match("GET", "/a/"), 1u);
}

TEST(EndpointTable, TiesGoToTheEarlierRule) {
  EXPECT_EQ(table_of({"GET /a/*", "GET /*/b"}).match("GET", "/a/b"), 0u);
  EXPECT_EQ(table_of({"GET /*/b", "GET /a/*"}).match("GET", "/a/b"), 0u);
  EXPECT_EQ(table_of({"* /x", "* /x"}).match("GET", "/x"), 0u);
  EXPECT_EQ(table_of({"GET /x/**", "GET /x/**"}).match("GET", "/x/y"), 0u);
}

TEST(EndpointTable, MatchesNormalizedPaths) {
  const PathNormalizer normalizer;
  const EndpointTable table = table_of({"GET /users/{id}", "GET /users/{id}/avatar", "* /~user"});
  EXPECT_EQ(table.match("GET", normalizer.normalize("/users/12345?size=2")), 0u);
  EXPECT_EQ(table.match("GET", normalizer.normalize("//users/123e4567-e89b-12d3-a456-426614174000/"
                                                    "avatar/")),
            1u);
  EXPECT_EQ(table.match("GET", normalizer.normalize("/%7Euser")), 2u);
  EXPECT_EQ(table_of({"GET /%7euser"}).match("GET", normalizer.normalize("/~user")), 0u);
  EXPECT_EQ(table_of({"GET /a%2fb"}).match("GET", normalizer.normalize("/a%2Fb")), 0u);
}

TEST(EndpointTable, AgreesWithReferenceOnRandomTables) {
  const std::array<std::string_view, 4> literals{"a", "b", "c", "{id}"};
  const std::array<std::string_view, 4> methods{"GET", "POST", "*", "DELETE"};
  std::mt19937 rng(7);
  const auto below = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  for (int round = 0; round < 400; ++round) {
    std::vector<EndpointPattern> patterns;
    const std::size_t rules = 1 + below(14);
    for (std::size_t r = 0; r < rules; ++r) {
      std::string text(methods[below(methods.size())]);
      text += ' ';
      const std::size_t n = below(4);
      for (std::size_t k = 0; k < n; ++k) {
        const std::size_t kind = below(6);
        text += '/';
        text += kind == 0 ? "*" : kind == 1 ? "{v}" : std::string(literals[below(3)]);
      }
      if (below(3) == 0) text += "/**";
      if (n == 0 && text.back() == ' ') text += '/';
      patterns.push_back(parse_endpoint_pattern(text));
    }
    const EndpointTable table(patterns);
    for (int q = 0; q < 25; ++q) {
      std::string path;
      const std::size_t n = below(5);
      for (std::size_t k = 0; k < n; ++k) path += "/" + std::string(literals[below(4)]);
      if (path.empty()) path = "/";
      const std::string_view method = methods[below(methods.size())];
      SCOPED_TRACE("round " + std::to_string(round) + ": " + std::string(method) + " " + path);
      ASSERT_EQ(table.match(method, path), reference::endpoint_match(patterns, method, path));
    }
  }
}

}  // namespace
}  // namespace ratelimit::policy
