// The `ratelimit` CLI's client commands against the real ratelimitd.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli_run.hpp"
#include "ratelimitd_process.hpp"

namespace ratelimit::testing {
namespace {

CliRun run(const std::string& args) { return run_cli(RATELIMIT_CLI, args); }

TEST(RatelimitCliClient, CheckDecideAndAdminAgainstARunningServer) {
  ::setenv("RATELIMITD_TEST_CLI_TOKEN", "cli-token", 1);
  RatelimitdProcess server(RATELIMITD_BINARY,
                           {"--config", RATELIMIT_SOURCE_DIR "/examples/tiers.yaml",
                            "--admin-token-env", "RATELIMITD_TEST_CLI_TOKEN"});
  const std::string url = "--server http://127.0.0.1:" + std::to_string(server.port());

  CliRun first = run("check cli:k --limit 1 --window 1h " + url);
  EXPECT_EQ(first.status, 0) << first.output;
  EXPECT_NE(first.output.find("ALLOWED key=cli:k limit=1 remaining=0"), std::string::npos)
      << first.output;
  CliRun second = run("check cli:k --limit 1 --window 1h " + url);
  EXPECT_EQ(second.status, 1) << second.output;
  EXPECT_NE(second.output.find("DENIED"), std::string::npos) << second.output;
  CliRun json = run("check cli:k --limit 1 --window 1h --json " + url);
  EXPECT_NE(json.output.find("\"allowed\":false"), std::string::npos) << json.output;

  CliRun decide = run("decide --user bob " + url);
  EXPECT_EQ(decide.status, 0) << decide.output;
  EXPECT_NE(decide.output.find("tier=free"), std::string::npos) << decide.output;
  EXPECT_NE(decide.output.find("RateLimit-Policy: "), std::string::npos) << decide.output;

  CliRun no_token = run("admin tier set user:bob pro " + url);
  EXPECT_EQ(no_token.status, 2);
  CliRun set = run("admin --token cli-token tier set user:bob pro --ttl 1h " + url);
  EXPECT_EQ(set.status, 0) << set.output;
  EXPECT_NE(run("decide --user bob " + url).output.find("tier=pro"), std::string::npos);
  CliRun bad = run("admin --token cli-token tier set user:bob gold " + url);
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.output.find("unknown tier 'gold'"), std::string::npos) << bad.output;
  EXPECT_EQ(run("admin --token cli-token whitelist add-range 10.0.0.0/8 " + url).status, 0);
  EXPECT_NE(run("admin --token cli-token whitelist ranges " + url).output.find("10.0.0.0/8"),
            std::string::npos);
  EXPECT_EQ(run("admin --token cli-token whitelist rm-range 10.0.0.0/8 " + url).status, 0);
  EXPECT_EQ(run("admin --token cli-token reset cli:k " + url).status, 0);
  EXPECT_EQ(run("check cli:k --limit 1 --window 1h " + url).status, 0);

  CliRun down = run("check x --limit 1 --server http://127.0.0.1:1");
  EXPECT_EQ(down.status, 2);
  EXPECT_NE(down.output.find("cannot talk to ratelimitd"), std::string::npos) << down.output;
}

}  // namespace
}  // namespace ratelimit::testing
