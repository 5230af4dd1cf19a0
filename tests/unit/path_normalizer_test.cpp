#include "ratelimit/policy/path_normalizer.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ratelimit::policy {
namespace {

struct Case {
  std::string_view raw;
  std::string_view expected;
};

// Default options: numeric ids, UUIDs, opaque segments of 16+ bytes, "{id}".
constexpr std::array kDefaultCases{
    // Numeric ids.
    Case{"/users/12345/orders", "/users/{id}/orders"},
    Case{"/users/0", "/users/{id}"},
    Case{"/v1/users/42", "/v1/users/{id}"},
    Case{"/reports/2024/07", "/reports/{id}/{id}"},
    Case{"/users/12a", "/users/12a"},
    Case{"/users/-1", "/users/-1"},
    // UUIDs, any case.
    Case{"/orders/123e4567-e89b-12d3-a456-426614174000", "/orders/{id}"},
    Case{"/orders/123E4567-E89B-12D3-A456-426614174000/items", "/orders/{id}/items"},
    Case{"/orders/12345678-1234-1234-1234-123456789012", "/orders/{id}"},
    // Opaque tokens: 16+ bytes of [A-Za-z0-9_.~-] with a digit and a letter.
    Case{"/files/d41d8cd98f00b204e9800998ecf8427e", "/files/{id}"},
    Case{"/t/eyJhbGciOiJIUzI1NiJ9", "/t/{id}"},
    Case{"/keys/AbC_12-xyz.~toke", "/keys/{id}"},
    Case{"/x/abcdefghijklmno1", "/x/{id}"},
    Case{"/x/abcdefghijklmn1", "/x/abcdefghijklmn1"},
    Case{"/static/jquery-3.6.0.min.js", "/static/{id}"},
    // Long plain words stay.
    Case{"/documents/upload", "/documents/upload"},
    Case{"/internationalization", "/internationalization"},
    Case{"/api/internationalization-settings", "/api/internationalization-settings"},
    Case{"/x/0123456789012345678901234", "/x/{id}"},
    Case{"/x/abcdefgh:12345678", "/x/abcdefgh:12345678"},
    // Dot segments, never above the root.
    Case{"/a/b/../c", "/a/c"},
    Case{"/a/./b", "/a/b"},
    Case{"/../admin", "/admin"},
    Case{"/a/../../b", "/b"},
    Case{"/a/b/..", "/a"},
    Case{"/..", "/"},
    Case{"/.", "/"},
    Case{"/...", "/..."},
    Case{"/.hidden/..x", "/.hidden/..x"},
    Case{"/users/123/..", "/users"},
    // Percent-encoding: unreserved decoded, the rest kept with uppercase hex.
    Case{"/%41bc", "/Abc"},
    Case{"/%7euser", "/~user"},
    Case{"/a%2Fb", "/a%2Fb"},
    Case{"/a%2fb", "/a%2Fb"},
    Case{"/a/%2e%2e/admin", "/admin"},
    Case{"/a/%2E/b", "/a/b"},
    Case{"/caf%c3%a9", "/caf%C3%A9"},
    Case{"/a%3Fb", "/a%3Fb"},
    Case{"/%31%32", "/{id}"},
    Case{"/%zz/x", "/%zz/x"},
    Case{"/100%", "/100%"},
    Case{"/%4%31", "/%4%31"},
    Case{"/%2", "/%2"},
    // Query and fragment.
    Case{"/search?q=1", "/search"},
    Case{"/page#top", "/page"},
    Case{"/a?x=/../b#y", "/a"},
    Case{"/a#frag?x", "/a"},
    Case{"/users/?id=5", "/users"},
    Case{"?x=1", "/"},
    // Slashes.
    Case{"/users/", "/users"},
    Case{"/", "/"},
    Case{"//", "/"},
    Case{"//a///b//", "/a/b"},
    // Empty input, no leading slash.
    Case{"", "/"},
    Case{"users/7", "/users/{id}"},
    Case{"a", "/a"},
    Case{"./a", "/a"},
    // Everything else is kept as is.
    Case{"/Users/ME", "/Users/ME"},
    Case{"/users/{id}", "/users/{id}"},
    Case{"/a*b/\xff", "/a*b/\xff"},
};

TEST(PathNormalizer, DefaultCases) {
  const PathNormalizer normalizer;
  for (std::size_t i = 0; i < kDefaultCases.size(); ++i) {
    const Case& c = kDefaultCases[i];
    SCOPED_TRACE("row " + std::to_string(i) + ": \"" + std::string(c.raw) + "\"");
    const std::string out = normalizer.normalize(c.raw);
    EXPECT_EQ(out, c.expected);
    EXPECT_EQ(normalizer.normalize(out), out);
    EXPECT_LE(out.size(), normalizer.max_normalized_size(c.raw.size()));
  }
}

TEST(PathNormalizer, NumericIdsCanBeTurnedOff) {
  const PathNormalizer normalizer(NormalizeOptions{.numeric_ids = false});
  EXPECT_EQ(normalizer.normalize("/users/12345"), "/users/12345");
  // All digits, no letter: not opaque either.
  EXPECT_EQ(normalizer.normalize("/x/01234567890123456789"), "/x/01234567890123456789");
  EXPECT_EQ(normalizer.normalize("/orders/123e4567-e89b-12d3-a456-426614174000"), "/orders/{id}");
}

TEST(PathNormalizer, UuidsCanBeTurnedOff) {
  const std::string uuid = "/o/123e4567-e89b-12d3-a456-426614174000";
  EXPECT_EQ(
      PathNormalizer(NormalizeOptions{.uuids = false, .opaque_min_length = 0}).normalize(uuid),
      uuid);
  // A UUID with letters is still an opaque token unless that rule is off too.
  EXPECT_EQ(PathNormalizer(NormalizeOptions{.uuids = false}).normalize(uuid), "/o/{id}");
  EXPECT_EQ(PathNormalizer(NormalizeOptions{.uuids = false})
                .normalize("/o/12345678-1234-1234-1234-123456789012"),
            "/o/12345678-1234-1234-1234-123456789012");
}

TEST(PathNormalizer, OpaqueMinLengthIsConfigurable) {
  const std::string token = "/t/d41d8cd98f00b204e9800998ecf8427e";
  EXPECT_EQ(PathNormalizer(NormalizeOptions{.opaque_min_length = 0}).normalize(token), token);
  EXPECT_EQ(PathNormalizer(NormalizeOptions{.opaque_min_length = 33}).normalize(token), token);
  EXPECT_EQ(PathNormalizer(NormalizeOptions{.opaque_min_length = 32}).normalize(token), "/t/{id}");
  const PathNormalizer short_tokens(NormalizeOptions{.opaque_min_length = 4});
  EXPECT_EQ(short_tokens.normalize("/a/ab12/abcd/1234"), "/a/{id}/abcd/{id}");
}

TEST(PathNormalizer, NothingReplacedWithAllRulesOff) {
  const PathNormalizer normalizer(
      NormalizeOptions{.numeric_ids = false, .uuids = false, .opaque_min_length = 0});
  EXPECT_EQ(normalizer.normalize("/u/1/123e4567-e89b-12d3-a456-426614174000/eyJhbGciOiJIUzI1NiJ9"),
            "/u/1/123e4567-e89b-12d3-a456-426614174000/eyJhbGciOiJIUzI1NiJ9");
}

TEST(PathNormalizer, PlaceholderCanChange) {
  const PathNormalizer colon(NormalizeOptions{.placeholder = ":id"});
  EXPECT_EQ(colon.normalize("/users/42/orders/7"), "/users/:id/orders/:id");
  EXPECT_EQ(colon.options().placeholder, ":id");
  const PathNormalizer star(NormalizeOptions{.placeholder = "*"});
  EXPECT_EQ(star.normalize("/users/42"), "/users/*");
  // A placeholder that looks like an id is still a fixed point.
  const PathNormalizer zero(NormalizeOptions{.placeholder = "0"});
  EXPECT_EQ(zero.normalize("/users/42"), "/users/0");
  EXPECT_EQ(zero.normalize("/users/0"), "/users/0");
}

TEST(PathNormalizer, OptionsAreKept) {
  const NormalizeOptions options{.numeric_ids = false, .opaque_min_length = 20, .placeholder = "X"};
  EXPECT_EQ(PathNormalizer(options).options(), options);
  EXPECT_EQ(PathNormalizer().options(), NormalizeOptions{});
}

TEST(PathNormalizer, RejectsPlaceholdersThatWouldNotBeStable) {
  const std::array<std::pair<std::string_view, std::string_view>, 7> cases{{
      {"", "NormalizeOptions.placeholder must not be empty, got \"\""},
      {".", "NormalizeOptions.placeholder must not be \".\" or \"..\", got \".\""},
      {"..", "NormalizeOptions.placeholder must not be \".\" or \"..\", got \"..\""},
      {"a/b", "NormalizeOptions.placeholder must not contain '/', '?', '#' or '%', got \"a/b\""},
      {"?", "NormalizeOptions.placeholder must not contain '/', '?', '#' or '%', got \"?\""},
      {"#", "NormalizeOptions.placeholder must not contain '/', '?', '#' or '%', got \"#\""},
      {"%41", "NormalizeOptions.placeholder must not contain '/', '?', '#' or '%', got \"%41\""},
  }};
  for (const auto& [placeholder, message] : cases) {
    SCOPED_TRACE(std::string(placeholder));
    try {
      const PathNormalizer normalizer(NormalizeOptions{.placeholder = std::string(placeholder)});
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string_view(e.what()), message);
    }
  }
}

TEST(PathNormalizer, OutputBound) {
  const PathNormalizer normalizer;
  // One-digit ids are the worst case: each 2 input bytes become 5.
  EXPECT_EQ(normalizer.normalize("1/2/3"), "/{id}/{id}/{id}");
  EXPECT_EQ(normalizer.max_normalized_size(5), 15u);
  EXPECT_EQ(normalizer.max_normalized_size(0), 2u);
  EXPECT_EQ(PathNormalizer(NormalizeOptions{.placeholder = "x"}).max_normalized_size(100), 101u);
  EXPECT_EQ(normalizer.max_normalized_size(static_cast<std::size_t>(-1)),
            static_cast<std::size_t>(-1));
  EXPECT_EQ(normalizer.max_normalized_size(static_cast<std::size_t>(-1) / 2),
            static_cast<std::size_t>(-1));
}

/// Checks the output invariants the header promises.
void expect_canonical(const PathNormalizer& normalizer, std::string_view raw) {
  const std::string out = normalizer.normalize(raw);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.front(), '/');
  EXPECT_EQ(out.find("//"), std::string::npos) << out;
  EXPECT_TRUE(out == "/" || out.back() != '/') << out;
  EXPECT_EQ(out.find_first_of("?#"), std::string::npos) << out;
  for (std::size_t pos = 1; pos <= out.size();) {
    std::size_t end = out.find('/', pos);
    if (end == std::string::npos) end = out.size();
    const std::string_view segment = std::string_view(out).substr(pos, end - pos);
    EXPECT_TRUE(segment != "." && segment != "..") << out;
    pos = end + 1;
  }
  EXPECT_LE(out.size(), normalizer.max_normalized_size(raw.size())) << out;
  EXPECT_EQ(normalizer.normalize(out), out) << "raw: " << raw;
}

TEST(PathNormalizer, IdempotentOnRandomPaths) {
  const std::vector<std::string> pieces{"/",
                                        "//",
                                        ".",
                                        "..",
                                        "%2e",
                                        "%2E%2e",
                                        "%2F",
                                        "%2f",
                                        "%41",
                                        "%7e",
                                        "%",
                                        "%4",
                                        "%zz",
                                        "%25",
                                        "1",
                                        "12345",
                                        "0",
                                        "abc",
                                        "A",
                                        "~",
                                        "-",
                                        "_",
                                        "?",
                                        "#",
                                        "&",
                                        "=",
                                        "*",
                                        "{id}",
                                        "{",
                                        "\xff",
                                        "%c3",
                                        "v1",
                                        "x9",
                                        "tok_",
                                        " ",
                                        "\t",
                                        "..a",
                                        "a.",
                                        ":",
                                        "@",
                                        "123e4567-e89b-12d3-a456-426614174000",
                                        "d41d8cd98f00b204e9800998ecf8427e",
                                        "internationalization",
                                        std::string(1, '\0')};
  const std::vector<NormalizeOptions> variants{
      {},
      {.numeric_ids = false, .uuids = false, .opaque_min_length = 0},
      {.opaque_min_length = 2, .placeholder = "x1"},
      {.placeholder = "0"},
      {.opaque_min_length = 1, .placeholder = "~"},
  };
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<std::size_t> count(0, 12);
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
  for (const NormalizeOptions& options : variants) {
    const PathNormalizer normalizer(options);
    for (int i = 0; i < 1000; ++i) {
      std::string raw;
      const std::size_t n = count(rng);
      for (std::size_t k = 0; k < n; ++k) raw += pieces[pick(rng)];
      SCOPED_TRACE("raw: \"" + raw + "\" placeholder " + options.placeholder);
      expect_canonical(normalizer, raw);
      if (testing::Test::HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace ratelimit::policy
