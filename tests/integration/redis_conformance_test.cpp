// The conformance vectors against a real redis-server, through the same
// runner as `ratelimit conformance DIR --store redis://...` (client time
// mode). The runner deletes its keys afterwards: DBSIZE is back to 0.

#include <gtest/gtest.h>

#include <filesystem>

#include "commands.hpp"
#include "support/redis_harness.hpp"

namespace ratelimit {
namespace {

void run_vectors(const std::string& dir) {
  auto server = testing::RedisServer::start();
  cli::ConformanceOptions o;
  o.dir = dir;
  o.store = server->url();
  EXPECT_EQ(cli::run_conformance(o), 0) << "some vectors failed against Redis (see FAIL lines above)";
  EXPECT_EQ(server->dbsize(), 0) << "the runner left keys behind";
}

TEST(RedisConformance, VendoredVectors) { run_vectors(RATELIMIT_VECTORS_DIR); }

TEST(RedisConformance, SharedVectorsWhenPresent) {
  const std::filesystem::path shared = RATELIMIT_SHARED_VECTORS_DIR;
  if (!std::filesystem::is_directory(shared)) GTEST_SKIP() << shared << " is not next to this repository";
  run_vectors(shared.string());
}

}  // namespace
}  // namespace ratelimit
