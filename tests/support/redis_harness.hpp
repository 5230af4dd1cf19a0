#pragma once
// Real Redis servers for the integration tests: a single server, a sentinel
// group (master + replica + 3 sentinels) and a 3-master cluster. Every process
// is started by the test on free 127.0.0.1 ports and ended by PID (kill +
// waitpid), never by name. Every server owns a private temp dir under /tmp
// (config, log with its stdout/stderr, data files), removed with it.
// Anything that does not come up in time throws std::runtime_error naming what
// did not happen, with the server's log tail where there is one.
//
// Servers are started with PR_SET_PDEATHSIG(SIGKILL): they die with the thread
// that started them even when no destructor runs (ctest timeout, sanitizer
// abort). So start them from the test's own thread, not a short-lived one.

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ratelimit::testing {

inline constexpr const char* kLoopback = "127.0.0.1";

// A port that was free on 127.0.0.1 a moment ago (bind to port 0, read it,
// close). Someone may take it before the server binds; RedisServer::start
// then retries with a new one.
int free_loopback_port();

// Runs one command on a fresh connection to 127.0.0.1:port (connect and I/O
// timeout `timeout`) and renders the reply: integers in decimal, status and
// bulk strings as-is, nil as "(nil)", errors as "(error) MESSAGE", arrays as
// their rendered elements joined by '\n'. Throws std::runtime_error when the
// server cannot be reached or does not answer in time.
std::string redis_command(int port, const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(1));

// A directory made with mkdtemp under /tmp, removed (recursively) on destruction.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The {} initializers let designated initializers name only some fields
// without GCC 12's -Wmissing-field-initializers.
struct RedisServerOptions {
  // Appended to the command line, e.g. {"--requirepass", "secret"} or
  // {"--user", "alice", "on", ">pw", "~*", "+@all"}.
  std::vector<std::string> args{};
  // Lines of the config file passed to redis-server (a sentinel must have its
  // directives in a writable file: it rewrites it).
  std::vector<std::string> config_lines{};
  // A fixed port; by default a free one is chosen (again after a bind race).
  std::optional<int> port{};
  // Run as a sentinel (redis-server CONFIG --sentinel).
  bool sentinel = false;
  // Cluster mode (nodes.conf in the server's dir). The cluster bus gets its
  // own free port (cluster-port): port + 10000 may be taken or above 65535.
  bool cluster = false;
};

class RedisServer {
 public:
  // Starts redis-server (not daemonized, no persistence) and waits up to 10 s
  // until it answers PING. Any reply counts, so the NOAUTH of a password-
  // protected server means "up" too.
  static std::unique_ptr<RedisServer> start(RedisServerOptions options = {});

  ~RedisServer();  // SIGCONT, SIGKILL, reap; the temp dir goes with dir_
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  int cluster_bus_port() const { return bus_port_; }  // 0 unless options.cluster
  pid_t pid() const { return pid_; }                  // 0 when not running
  std::string host() const { return kLoopback; }
  std::string url() const;  // redis://127.0.0.1:PORT
  const std::string& dir() const { return dir_.path(); }
  std::string log_tail() const;  // last lines of the server's stdout/stderr

  void kill();    // SIGKILL + reap
  void stop();    // SIGTERM + reap (SIGKILL and throw if not gone within 10 s)
  void pause();   // SIGSTOP: the kernel still accepts connections, nobody answers
  void resume();  // SIGCONT
  // Starts again on the same port(s), dir and options, once kill() or stop()
  // ended it (std::logic_error otherwise). Data is gone: nothing is saved.
  void restart();
  bool running() const;  // reaps the process if it has exited on its own

  // One command on a fresh connection with a 1 s timeout; see redis_command.
  std::string command(std::initializer_list<std::string> argv) const;
  std::string command(const std::vector<std::string>& argv) const;
  long long dbsize() const;

 private:
  explicit RedisServer(RedisServerOptions options);
  void launch();
  bool wait_until_ready(bool bind_race_is_retryable);
  std::vector<std::string> command_line() const;
  std::string log_path() const;
  std::string pid_file() const;

  RedisServerOptions options_;
  TempDir dir_;
  int port_ = 0;
  int bus_port_ = 0;
  mutable pid_t pid_ = 0;     // mutable: running() reaps a process that exited
  long long log_offset_ = 0;  // log size when the current process was launched
};

// Master + 1 replica + 3 sentinels (quorum 2, down-after-milliseconds 1000,
// failover-timeout 10000).
class RedisSentinelGroup {
 public:
  // Waits up to 20 s until the replica is in sync and every sentinel names the
  // master and knows the replica and the two other sentinels.
  static std::unique_ptr<RedisSentinelGroup> start(std::string master_name = "mymaster");

  // The servers as started; after a failover, replica() is the master.
  RedisServer& master() { return *master_; }
  RedisServer& replica() { return *replica_; }
  RedisServer& sentinel(std::size_t i) { return *sentinels_.at(i); }
  std::vector<int> sentinel_ports() const;
  const std::string& master_name() const { return name_; }
  // redis+sentinel://127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3/NAME
  std::string sentinel_url() const { return sentinel_url(name_); }
  std::string sentinel_url(std::string_view name) const;

  // The master port named by every sentinel that answers; throws if none
  // answers or they disagree.
  int master_port_by_sentinels() const;
  // Polls until every sentinel that answers names a master other than
  // old_master_port and that server answers ROLE as master; returns its port.
  int wait_for_failover(int old_master_port,
                        std::chrono::milliseconds deadline = std::chrono::seconds(30)) const;

 private:
  explicit RedisSentinelGroup(std::string name) : name_(std::move(name)) {}
  std::string sentinel_problem(const RedisServer& sentinel) const;  // "" when ready

  std::string name_;
  std::unique_ptr<RedisServer> master_;
  std::unique_ptr<RedisServer> replica_;
  std::array<std::unique_ptr<RedisServer>, 3> sentinels_;
};

// 3 masters, no replicas, the 16384 slots split by redis-cli --cluster create.
class RedisCluster {
 public:
  static constexpr int kSlots = 16384;
  static constexpr std::size_t kNodes = 3;

  // Creates the cluster and waits up to 20 s until every node says
  // cluster_state:ok and all agree on CLUSTER SLOTS.
  static std::unique_ptr<RedisCluster> start();

  RedisServer& node(std::size_t i) { return *nodes_.at(i); }
  RedisServer& node_on_port(int port);
  std::vector<int> ports() const;
  std::string url() const;  // redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3

  // The owner of `slot` by node 0's CLUSTER SLOTS (0 if unassigned).
  int owner_port(int slot) const;
  // CRC16-XMODEM of the key, or of its hash tag (the part between the first
  // '{' and the next '}' if not empty), mod 16384: what CLUSTER KEYSLOT says.
  static int key_slot(std::string_view key);

  struct SlotMigration {
    int slot = 0;
    int source_port = 0;
    int target_port = 0;
    std::string source_id;
    std::string target_id;
  };
  // First half of a resharding: SETSLOT IMPORTING on the target, MIGRATING on
  // the source, then every key of the slot is MIGRATEd to the target. The
  // slot still belongs to the source, which now answers -ASK for the keys it
  // no longer has.
  SlotMigration begin_migration(int slot, int to_port);
  // Second half: SETSLOT NODE target on the target, the source and the third
  // node; waits up to 10 s until every node names the target as the owner.
  void finish_migration(const SlotMigration& migration);
  void migrate_slot(int slot, int to_port);

 private:
  RedisCluster() : dir_("ratelimit-cluster") {}
  void create_with_redis_cli() const;
  std::string readiness_problem() const;  // "" when ready

  TempDir dir_;  // redis-cli's log
  std::array<std::unique_ptr<RedisServer>, kNodes> nodes_;
};

}  // namespace ratelimit::testing
