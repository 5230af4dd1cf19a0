// parse_redis_url and open_store: every part of the URL, and a clear error
// naming the part for each malformed one.

#include <gtest/gtest.h>

#include "ratelimit/guarded_store.hpp"
#include "ratelimit/memory_store.hpp"
#include "ratelimit/redis_store.hpp"
#include "ratelimit/store_factory.hpp"

namespace ratelimit {
namespace {

TEST(RedisUrl, StandaloneWithEverything) {
  const RedisStoreOptions o = parse_redis_url(
      "redis://alice:s%40cret@10.0.0.7:6380/3?prefix=app%3Arl%3A&timeout_ms=20&connect_timeout_ms=50&pool=8&batch=16&time=client");
  EXPECT_EQ(o.topology, RedisTopology::standalone);
  ASSERT_EQ(o.endpoints.size(), 1u);
  EXPECT_EQ(o.endpoints[0], (RedisEndpoint{"10.0.0.7", 6380}));
  EXPECT_EQ(o.username, "alice");
  EXPECT_EQ(o.password, "s@cret");
  EXPECT_EQ(o.database, 3);
  EXPECT_EQ(o.key_prefix, "app:rl:");
  EXPECT_EQ(o.command_timeout_ms, 20);
  EXPECT_EQ(o.connect_timeout_ms, 50);
  EXPECT_EQ(o.pool_size, 8);
  EXPECT_EQ(o.max_batch, 16);
  EXPECT_EQ(o.time_mode, RedisTimeMode::client);
}

TEST(RedisUrl, Defaults) {
  const RedisStoreOptions o = parse_redis_url("redis://localhost");
  EXPECT_EQ(o.endpoints[0], (RedisEndpoint{"localhost", 6379}));
  EXPECT_TRUE(o.username.empty());
  EXPECT_TRUE(o.password.empty());
  EXPECT_EQ(o.database, 0);
  EXPECT_EQ(o.key_prefix, "rl:");
  EXPECT_EQ(o.time_mode, RedisTimeMode::server);
}

TEST(RedisUrl, PasswordOnlyAndIpv6) {
  const RedisStoreOptions o = parse_redis_url("redis://:pw@[::1]:7000");
  EXPECT_EQ(o.password, "pw");
  EXPECT_TRUE(o.username.empty());
  EXPECT_EQ(o.endpoints[0], (RedisEndpoint{"::1", 7000}));
}

TEST(RedisUrl, SentinelAndCluster) {
  const RedisStoreOptions s = parse_redis_url("redis+sentinel://h1:26380,h2/mymaster/2");
  EXPECT_EQ(s.topology, RedisTopology::sentinel);
  EXPECT_EQ(s.endpoints, (std::vector<RedisEndpoint>{{"h1", 26380}, {"h2", 26379}}));
  EXPECT_EQ(s.master_name, "mymaster");
  EXPECT_EQ(s.database, 2);
  const RedisStoreOptions c = parse_redis_url("redis+cluster://a:7000,b:7001,c:7002");
  EXPECT_EQ(c.topology, RedisTopology::cluster);
  EXPECT_EQ(c.endpoints.size(), 3u);
}

void expect_error(const std::string& url, const std::string& fragment) {
  try {
    (void)parse_redis_url(url);
    ADD_FAILURE() << url << " was accepted";
  } catch (const InvalidRedisUrl& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(url), std::string::npos) << "message should quote the URL: " << e.what();
  }
}

TEST(RedisUrl, ErrorsNameThePart) {
  expect_error("localhost:6379", "expected a scheme");
  expect_error("http://localhost", "unknown scheme 'http'");
  expect_error("rediss://localhost", "TLS");
  expect_error("redis://localhost:0", "port '0'");
  expect_error("redis://localhost:65536", "port '65536'");
  expect_error("redis://localhost:abc", "port 'abc'");
  expect_error("redis://", "missing host");
  expect_error("redis://a,b", "several hosts");
  expect_error("redis://localhost/x", "database 'x'");
  expect_error("redis://user@localhost", "credentials");
  expect_error("redis://u:@localhost", "empty password");
  expect_error("redis://localhost?pool=0", "option pool='0'");
  expect_error("redis://localhost?batch=0", "option batch='0'");
  expect_error("redis://localhost?timeout_ms=-5", "option timeout_ms='-5'");
  expect_error("redis://localhost?time=local", "option time='local'");
  expect_error("redis://localhost?nonsense=1", "unknown option 'nonsense'");
  expect_error("redis://localhost?flag", "must be key=value");
  expect_error("redis://localhost?prefix=a%7Bb", "must not contain '{'");
  expect_error("redis://localhost?prefix=%zz", "invalid percent-escape");
  expect_error("redis+sentinel://h1:26379", "master name");
  expect_error("redis+cluster://h:7000/1", "only database 0");
}

TEST(RedisUrl, OptionsGivenInCodeAreValidatedToo) {
  RedisStoreOptions o;
  o.key_prefix = "{tag}";
  EXPECT_THROW(RedisStore{o}, InvalidRedisUrl);
  o = RedisStoreOptions{};
  o.pool_size = 0;
  EXPECT_THROW(RedisStore{o}, InvalidRedisUrl);
}

TEST(OpenStore, MemoryAndGuardedRedis) {
  EXPECT_NE(dynamic_cast<MemoryStore*>(open_store("memory").get()), nullptr);
  // Connecting is lazy: building the store needs no server.
  auto guarded = open_store("redis://127.0.0.1:1?failure=local&local_share=0.25&breaker_failures=2&breaker_open_ms=50");
  auto* g = dynamic_cast<GuardedStore*>(guarded.get());
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->options().failure_mode, FailureMode::local);
  EXPECT_DOUBLE_EQ(g->options().local_share, 0.25);
  EXPECT_EQ(g->options().breaker_failures, 2);
  EXPECT_EQ(g->options().breaker_open, 50 * kMicrosPerMilli);
  EXPECT_NE(dynamic_cast<RedisStore*>(open_store("redis://127.0.0.1:1?failure=none").get()), nullptr);
}

TEST(OpenStore, Errors) {
  EXPECT_THROW((void)open_store("memcached://x"), InvalidRedisUrl);
  EXPECT_THROW((void)open_store("redis://h?failure=maybe"), InvalidRedisUrl);
  EXPECT_THROW((void)open_store("redis://h?local_share=0"), InvalidRedisUrl);
  EXPECT_THROW((void)open_store("redis://h?local_share=1.5"), InvalidRedisUrl);
  EXPECT_THROW((void)open_store("redis://h?breaker_failures=0"), InvalidRedisUrl);
  EXPECT_THROW((void)open_store("redis://h?bogus=1"), InvalidRedisUrl);
}

}  // namespace
}  // namespace ratelimit
