// Runs examples/redis_store.cpp (the program docs/redis.md quotes) against a
// real redis-server; the example checks its own decisions.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "support/redis_harness.hpp"

TEST(RedisExample, RunsAgainstARealServer) {
  auto server = ratelimit::testing::RedisServer::start();
  const std::string command = std::string(RATELIMIT_EXAMPLE) + " " + server->url();
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  EXPECT_EQ(server->dbsize(), 0) << "the example resets what it used";
}
