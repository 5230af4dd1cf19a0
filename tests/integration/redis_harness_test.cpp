// Tests of the Redis test harness itself, against real servers: if these
// pass, the integration tests built on it start, break and inspect what they
// think they do.

#include "support/redis_harness.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ratelimit::testing {
namespace {

using Clock = std::chrono::steady_clock;

bool starts_with(const std::string& s, std::string_view prefix) { return s.starts_with(prefix); }

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

// ---------------------------------------------------------------- one server

TEST(RedisServer, StartsOnLoopbackAndAnswers) {
  auto server = RedisServer::start();
  EXPECT_TRUE(server->running());
  EXPECT_GT(server->pid(), 0);
  EXPECT_EQ(server->host(), "127.0.0.1");
  EXPECT_EQ(server->url(), "redis://127.0.0.1:" + std::to_string(server->port()));
  EXPECT_EQ(server->command({"PING"}), "PONG");
  EXPECT_EQ(server->dbsize(), 0);

  EXPECT_EQ(server->command({"SET", "k", "v"}), "OK");
  EXPECT_EQ(server->command({"GET", "k"}), "v");
  EXPECT_EQ(server->command({"GET", "missing"}), "(nil)");
  EXPECT_EQ(server->command({"INCR", "n"}), "1");
  EXPECT_EQ(server->command(std::vector<std::string>{"RPUSH", "list", "a", "b"}), "2");
  EXPECT_EQ(server->command({"LRANGE", "list", "0", "-1"}), "a\nb");
  EXPECT_TRUE(starts_with(server->command({"NO-SUCH-COMMAND"}), "(error) ERR unknown command"));
  EXPECT_EQ(server->dbsize(), 3);
  EXPECT_EQ(first_line(server->command({"CONFIG", "GET", "bind"})), "bind");
  EXPECT_EQ(server->command({"CONFIG", "GET", "bind"}), "bind\n127.0.0.1");
}

TEST(RedisServer, EachServerHasItsOwnPortAndDirRemovedAfterwards) {
  std::string dir;
  {
    auto a = RedisServer::start();
    auto b = RedisServer::start();
    EXPECT_NE(a->port(), b->port());
    EXPECT_NE(a->dir(), b->dir());
    a->command({"SET", "only-in-a", "1"});
    EXPECT_EQ(b->dbsize(), 0);
    dir = a->dir();
    EXPECT_TRUE(std::filesystem::exists(dir + "/redis.log"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(RedisServer, PausedServerTimesOutAndResumeRestoresIt) {
  auto server = RedisServer::start();
  server->pause();
  const auto t0 = Clock::now();
  EXPECT_THROW(server->command({"PING"}), std::runtime_error);
  EXPECT_GE(elapsed_ms(t0), 900);  // the 1 s reply timeout, not a refused connection
  server->resume();
  EXPECT_EQ(server->command({"PING"}), "PONG");
}

TEST(RedisServer, KillThenRestartOnTheSamePortLosesTheData) {
  auto server = RedisServer::start();
  const int port = server->port();
  const pid_t old_pid = server->pid();
  server->command({"SET", "k", "v"});

  server->kill();
  EXPECT_FALSE(server->running());
  EXPECT_EQ(server->pid(), 0);
  EXPECT_THROW(server->command({"PING"}), std::runtime_error);  // connection refused

  server->restart();
  EXPECT_TRUE(server->running());
  EXPECT_EQ(server->port(), port);
  EXPECT_NE(server->pid(), old_pid);
  EXPECT_EQ(server->command({"GET", "k"}), "(nil)");
  EXPECT_EQ(server->dbsize(), 0);
}

TEST(RedisServer, StopEndsItGracefullyAndRestartNeedsItStopped) {
  auto server = RedisServer::start();
  EXPECT_THROW(server->restart(), std::logic_error);
  server->pause();
  server->stop();  // must also work on a paused server
  EXPECT_FALSE(server->running());
  EXPECT_NE(server->log_tail().find("ready to exit"), std::string::npos) << server->log_tail();
  server->restart();
  EXPECT_EQ(server->command({"PING"}), "PONG");
}

TEST(RedisServer, RequirePassRefusesCommandsWithoutAuth) {
  auto server = RedisServer::start({.args = {"--requirepass", "secret"}});
  EXPECT_TRUE(starts_with(server->command({"PING"}), "(error) NOAUTH"))
      << server->command({"PING"});
  EXPECT_TRUE(starts_with(server->command({"AUTH", "wrong"}), "(error) WRONGPASS"));
  EXPECT_EQ(server->command({"AUTH", "secret"}), "OK");
  EXPECT_EQ(server->command({"AUTH", "default", "secret"}), "OK");
}

TEST(RedisServer, AclUsersFromTheCommandLine) {
  auto server = RedisServer::start(
      {.args = {"--user", "default", "off", "--user", "alice", "on", ">pw", "~*", "+@all"}});
  EXPECT_TRUE(starts_with(server->command({"PING"}), "(error) NOAUTH"));
  EXPECT_EQ(server->command({"AUTH", "alice", "pw"}), "OK");
}

TEST(RedisServer, FailedStartupReportsTheLogTail) {
  try {
    RedisServer::start({.args = {"--no-such-directive", "1"}});
    FAIL() << "start() accepted a bad directive";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("exited with status 1"), std::string::npos) << message;
    EXPECT_NE(message.find("no-such-directive"), std::string::npos) << message;
  }
}

TEST(RedisServer, FixedPortThatIsTakenFailsWithoutRetry) {
  auto first = RedisServer::start();
  try {
    RedisServer::start({.port = first->port()});
    FAIL() << "a second server started on a taken port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("Address already in use"), std::string::npos) << e.what();
  }
  EXPECT_EQ(first->command({"PING"}), "PONG");  // the first one was not disturbed
}

// ---------------------------------------------------------------- sentinel

TEST(RedisSentinelGroup, FailsOverToTheReplicaWhenTheMasterIsKilled) {
  auto t0 = Clock::now();
  auto group = RedisSentinelGroup::start();
  std::cout << "sentinel group ready in " << elapsed_ms(t0) << " ms\n";

  const std::vector<int> s = group->sentinel_ports();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(group->sentinel_url(), "redis+sentinel://127.0.0.1:" + std::to_string(s[0]) +
                                       ",127.0.0.1:" + std::to_string(s[1]) +
                                       ",127.0.0.1:" + std::to_string(s[2]) + "/mymaster");
  EXPECT_EQ(group->master_port_by_sentinels(), group->master().port());
  EXPECT_EQ(first_line(group->replica().command({"ROLE"})), "slave");

  EXPECT_EQ(group->master().command({"SET", "k", "v"}), "OK");
  EXPECT_EQ(group->master().command({"WAIT", "1", "900"}), "1");  // replicated before the kill

  const int old_master = group->master().port();
  try {  // no failover without a failure: the deadline error names what did not happen
    group->wait_for_failover(old_master, std::chrono::milliseconds(300));
    FAIL() << "wait_for_failover returned while the master was up";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("still name 127.0.0.1:" + std::to_string(old_master)),
              std::string::npos)
        << e.what();
  }

  group->master().kill();
  t0 = Clock::now();
  const int new_master = group->wait_for_failover(old_master);
  std::cout << "failover took " << elapsed_ms(t0) << " ms\n";

  EXPECT_EQ(new_master, group->replica().port());
  EXPECT_EQ(first_line(group->replica().command({"ROLE"})), "master");
  EXPECT_EQ(group->replica().command({"GET", "k"}), "v");
  EXPECT_EQ(group->replica().command({"SET", "k2", "v2"}), "OK");  // writable now
}

// ---------------------------------------------------------------- cluster

TEST(RedisClusterKeySlot, KnownValuesAndHashTags) {
  EXPECT_EQ(RedisCluster::key_slot("123456789"), 0x31C3);  // the CRC16-XMODEM check value
  EXPECT_EQ(RedisCluster::key_slot("foo"), 12182);
  EXPECT_EQ(RedisCluster::key_slot(""), 0);
  EXPECT_EQ(RedisCluster::key_slot("{user1000}.following"), RedisCluster::key_slot("user1000"));
  EXPECT_EQ(RedisCluster::key_slot("foo{bar}{zap}"), RedisCluster::key_slot("bar"));
  EXPECT_EQ(RedisCluster::key_slot("foo{{bar}}zap"), RedisCluster::key_slot("{bar"));
}

class RedisClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto t0 = Clock::now();
    cluster_ = RedisCluster::start();
    std::cout << "cluster ready in " << elapsed_ms(t0) << " ms\n";
  }

  // A port of the cluster other than `port`.
  int other_than(int port) const {
    for (int p : cluster_->ports()) {
      if (p != port) return p;
    }
    return 0;
  }

  std::unique_ptr<RedisCluster> cluster_;
};

TEST_F(RedisClusterTest, AllSlotsCoveredAndKeySlotMatchesTheServer) {
  const std::vector<int> ports = cluster_->ports();
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(cluster_->url(), "redis+cluster://127.0.0.1:" + std::to_string(ports[0]) +
                                 ",127.0.0.1:" + std::to_string(ports[1]) +
                                 ",127.0.0.1:" + std::to_string(ports[2]));
  std::map<int, int> slots_per_owner;
  for (int slot = 0; slot < RedisCluster::kSlots; slot += 97)
    ++slots_per_owner[cluster_->owner_port(slot)];
  EXPECT_EQ(slots_per_owner.size(), 3u);
  EXPECT_EQ(slots_per_owner.count(0), 0u);
  for (std::size_t i = 0; i < RedisCluster::kNodes; ++i) {
    const std::string info = cluster_->node(i).command({"CLUSTER", "INFO"});
    EXPECT_NE(info.find("cluster_slots_assigned:16384"), std::string::npos) << info;
    EXPECT_NE(info.find("cluster_state:ok"), std::string::npos) << info;
  }
  for (const std::string key :
       {"foo", "bar", "", "user:42", "{user1000}.following", "{user1000}.followers", "foo{}{bar}",
        "foo{{bar}}zap", "foo{bar}{zap}", "{}", "a{b}c", "rl:{tenant-7}:token_bucket"}) {
    EXPECT_EQ(std::to_string(RedisCluster::key_slot(key)),
              cluster_->node(0).command({"CLUSTER", "KEYSLOT", key}))
        << "key '" << key << "'";
  }
}

TEST_F(RedisClusterTest, WriteToTheWrongNodeIsMoved) {
  const std::string key = "user:42";
  const int slot = RedisCluster::key_slot(key);
  const int owner = cluster_->owner_port(slot);
  const int wrong = other_than(owner);
  EXPECT_EQ(redis_command(wrong, {"SET", key, "v"}),
            "(error) MOVED " + std::to_string(slot) + " 127.0.0.1:" + std::to_string(owner));
  EXPECT_EQ(redis_command(owner, {"SET", key, "v"}), "OK");
}

TEST_F(RedisClusterTest, MigrateSlotMovesTheOwnerAndTheKeys) {
  const std::string key = "{rl}:a";
  const int slot = RedisCluster::key_slot(key);
  const int source = cluster_->owner_port(slot);
  const int target = other_than(source);
  ASSERT_EQ(redis_command(source, {"SET", key, "1"}), "OK");
  ASSERT_EQ(redis_command(source, {"SET", "{rl}:b", "2"}), "OK");

  cluster_->migrate_slot(slot, target);

  for (int port : cluster_->ports()) {
    EXPECT_EQ(redis_command(port, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}),
              port == target ? "2" : "0");
  }
  EXPECT_EQ(cluster_->owner_port(slot), target);
  EXPECT_EQ(redis_command(target, {"GET", key}), "1");
  EXPECT_EQ(redis_command(source, {"GET", key}),
            "(error) MOVED " + std::to_string(slot) + " 127.0.0.1:" + std::to_string(target));
}

TEST_F(RedisClusterTest, BeginMigrationYieldsAskForAMovedKey) {
  const std::string key = "{ask}:k";
  const int slot = RedisCluster::key_slot(key);
  const int source = cluster_->owner_port(slot);
  const int target = other_than(source);
  ASSERT_EQ(redis_command(source, {"SET", key, "v"}), "OK");

  const RedisCluster::SlotMigration m = cluster_->begin_migration(slot, target);
  EXPECT_EQ(m.source_port, source);
  EXPECT_EQ(m.target_port, target);
  const std::string ask =
      "(error) ASK " + std::to_string(slot) + " 127.0.0.1:" + std::to_string(target);
  EXPECT_EQ(redis_command(source, {"GET", key}), ask);
  EXPECT_EQ(cluster_->owner_port(slot), source);  // still the source's until finished
  EXPECT_EQ(redis_command(target, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}), "1");
  // Without ASKING, the importing target sends clients back to the owner.
  EXPECT_TRUE(starts_with(redis_command(target, {"GET", key}), "(error) MOVED "));

  cluster_->finish_migration(m);
  EXPECT_EQ(cluster_->owner_port(slot), target);
  EXPECT_EQ(redis_command(target, {"GET", key}), "v");
}

}  // namespace
}  // namespace ratelimit::testing
