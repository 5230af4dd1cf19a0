// Fuzzing the conformance vector parser: the shipped vectors, mutated at
// random (bytes flipped, dropped, repeated; numbers swapped for extreme
// values and wrong types; the text cut short), must either load or fail with
// a clear error, and a vector that loads must run against the memory store
// without crashing. Run under ASan+UBSan in CI, where "no crash" also means
// no undefined behaviour and no leak. Label "fuzz".

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "conformance.hpp"
#include "ratelimit/memory_store.hpp"
#include "vector_file.hpp"

namespace ratelimit::cli {
namespace {

// A few of the shipped vectors, of each kind (single and multi-limit).
const std::vector<std::string>& seeds() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> out;
    for (const char* name : {"token_bucket__random-1-0.json", "sliding_log__random-1-0.json",
                             "leaky_bucket__random-1-0.json", "multi__tier-1-0.json"}) {
      std::ifstream in(std::filesystem::path(RATELIMIT_VECTORS_DIR) / name, std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      out.push_back(text.str());
    }
    return out;
  }();
  return texts;
}

// Values a careless parser or store mishandles.
const std::vector<std::string> kNasty = {
    "0", "-1", "1", "1.5", "-0", "1e308", "-1e308", "1e-308", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "18446744073709551615", "4503599627370496", "null", "true", "\"\"", "\"x\"",
    "[]", "{}", "\"\\u001f\"", "\"token_bucket\"", "\"sliding_log\"", "\"shape\""};

// Positions of number literals in `text`.
std::vector<std::pair<std::size_t, std::size_t>> numbers(const std::string& text) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (std::size_t i = 0; i < text.size();) {
    if ((text[i] >= '0' && text[i] <= '9') || text[i] == '-') {
      std::size_t j = i + 1;
      while (j < text.size() && std::string_view("0123456789.eE+-").find(text[j]) != std::string_view::npos) ++j;
      out.emplace_back(i, j - i);
      i = j;
    } else {
      ++i;
    }
  }
  return out;
}

std::string mutate(std::string text) {
  const int rounds = *rc::gen::inRange(1, 4);
  for (int r = 0; r < rounds && !text.empty(); ++r) {
    const std::size_t at = *rc::gen::inRange<std::size_t>(0, text.size());
    switch (*rc::gen::inRange(0, 12)) {
      case 0:  // one byte replaced
        text[at] = *rc::gen::arbitrary<char>();
        break;
      case 1:  // a run of bytes dropped
        text.erase(at, *rc::gen::inRange<std::size_t>(1, 40));
        break;
      case 2:  // a run of bytes repeated
        text.insert(at, text.substr(at, *rc::gen::inRange<std::size_t>(1, 40)));
        break;
      case 3:  // cut short
        text.resize(at);
        break;
      default: {  // a number replaced by something nasty (most mutations: these get past the JSON parser)
        const auto nums = numbers(text);
        if (nums.empty()) break;
        const auto [pos, len] = nums[*rc::gen::inRange<std::size_t>(0, nums.size())];
        text.replace(pos, len, *rc::gen::elementOf(kNasty));
        break;
      }
    }
  }
  return text;
}

RC_GTEST_PROP(VectorFileFuzz, MutatedVectorsLoadOrFailClearlyAndNeverCrash, ()) {
  const std::string text = mutate(*rc::gen::elementOf(seeds()));
  Case c;
  try {
    c = parse_case(text);
  } catch (const VectorError& e) {
    RC_ASSERT(std::string(e.what()).size() > 5);
    RC_TAG("rejected");
    return;
  } catch (const InvalidLimitSpec& e) {
    RC_ASSERT(std::string(e.what()).size() > 5);
    RC_TAG("rejected by LimitSpec");
    return;
  }
  RC_TAG("loaded");
  MemoryStore store;
  std::ostringstream out;
  const Tally t = run_case(c, store, "fuzz.json", false, out);
  RC_ASSERT(t.passed + t.failed <= c.steps.size());
}

TEST(VectorFileFuzz, SeedsLoadAndPass) {
  for (const std::string& text : seeds()) {
    const Case c = parse_case(text);
    MemoryStore store;
    std::ostringstream out;
    const Tally t = run_case(c, store, "seed.json", false, out);
    EXPECT_EQ(t.failed, 0u) << out.str();
    EXPECT_GT(t.passed, 0u);
  }
}

}  // namespace
}  // namespace ratelimit::cli
