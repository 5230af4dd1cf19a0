// Fuzzing the Redis URL parser (parse_redis_url, open_store): valid URLs
// mutated at random (characters flipped, dropped, repeated, the text cut
// short, pieces spliced in) must either parse into options that pass the
// store's own validation, or fail with InvalidRedisUrl / std::invalid_argument
// that quotes the input. Never a crash, a hang or another exception. Building
// a store connects nothing, so this needs no server. Label "fuzz".

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "ratelimit/redis_store.hpp"
#include "ratelimit/store_factory.hpp"

namespace ratelimit {
namespace {

const std::vector<std::string> kSeeds{
    "redis://127.0.0.1:6379",
    "redis://alice:s%40cret@10.0.0.7:6380/3?prefix=app%3A&timeout_ms=20&pool=8&batch=4&time=client",
    "redis://:pw@[::1]:7000/0",
    "redis+sentinel://h1:26380,h2/mymaster/2?connect_timeout_ms=100",
    "redis+cluster://a:7000,b:7001,c:7002?prefix=x:",
    "redis://h?failure=local&local_share=0.25&breaker_failures=2&breaker_open_ms=50",
};
const std::vector<std::string> kPieces{
    ":", "@", "/", "?", "&", "=", ",", "[", "]", "%", "%zz", "{", "}", "99999", "-1", "0", "redis://",
    "redis+sentinel://", "pool=", "time=", "failure=none", "local_share=1e309", "\xff", std::string(1, '\0'), " "};

std::string mutate(std::string s, int op, std::size_t pos, std::size_t piece, char c) {
  if (s.empty()) return kPieces[piece % kPieces.size()];
  pos %= s.size();
  switch (op % 5) {
    case 0: s[pos] = c; break;
    case 1: s.erase(pos, 1); break;
    case 2: s.insert(pos, 1, s[pos]); break;
    case 3: s.resize(pos); break;
    default: s.insert(pos, kPieces[piece % kPieces.size()]); break;
  }
  return s;
}

RC_GTEST_PROP(RedisUrlFuzz, ParsesOrFailsClearly, ()) {
  std::string url = kSeeds[*rc::gen::inRange<std::size_t>(0, kSeeds.size())];
  const int rounds = *rc::gen::inRange(1, 6);
  for (int i = 0; i < rounds; ++i) {
    url = mutate(url, *rc::gen::arbitrary<int>(), *rc::gen::arbitrary<std::size_t>(),
                 *rc::gen::arbitrary<std::size_t>(), *rc::gen::arbitrary<char>());
  }
  try {
    const RedisStoreOptions o = parse_redis_url(url, nullptr);
    RC_ASSERT(!o.endpoints.empty());
    RedisStore store(o);  // validates again; connects nothing
  } catch (const InvalidRedisUrl& e) {
    RC_ASSERT(std::string(e.what()).find("invalid Redis") != std::string::npos);
  }
  try {
    (void)open_store(url);
  } catch (const std::invalid_argument& e) {  // InvalidRedisUrl, or a bad failure option
    RC_ASSERT(std::string(e.what()).size() > 0);
  }
}

}  // namespace
}  // namespace ratelimit
