#include "support/redis_harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

namespace ratelimit::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

constexpr milliseconds kStartupDeadline = 10s;
constexpr milliseconds kStopDeadline = 10s;
constexpr milliseconds kGroupDeadline = 20s;
constexpr milliseconds kRedisCliDeadline = 30s;
constexpr milliseconds kSlotAgreementDeadline = 10s;
constexpr milliseconds kPollInterval = 20ms;
constexpr std::size_t kLogTailBytes = 3000;

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

std::string address(int port) { return std::string(kLoopback) + ":" + std::to_string(port); }

std::string joined(const std::vector<std::string>& words, std::string_view separator) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out += separator;
    out += w;
  }
  return out;
}

// ---------------------------------------------------------------- processes

// The absolute path of `name` on $PATH, resolved before fork so the child
// only has to execv (execvp may allocate, which is not safe after fork).
std::string find_executable(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error(name + " not found on PATH (apt-get install redis-server redis-tools)");
}

const std::string& redis_server_path() {
  static const std::string path = find_executable("redis-server");
  return path;
}

// Runs argv[0] (an absolute path) with stdin from /dev/null and stdout/stderr
// appended to log_path. Everything the child needs is prepared before fork:
// between fork and exec only async-signal-safe calls are allowed.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork for " + argv.front());
  if (pid > 0) return pid;

  // Child. Die with the parent thread even if it never gets to kill us.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  const int null = ::open("/dev/null", O_RDONLY);
  if (log < 0 || null < 0) ::_exit(127);
  ::dup2(null, STDIN_FILENO);
  ::dup2(log, STDOUT_FILENO);
  ::dup2(log, STDERR_FILENO);
  // Do not hand the test's sockets (hiredis connections, other servers'
  // logs) to the server: a held socket keeps a connection open.
  if (::close_range(3, ~0U, 0) != 0) {
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
  }
  // The harness ignores SIGPIPE, and exec keeps ignored signals ignored.
  ::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv(args[0], args.data());
  static constexpr char kExecFailed[] = "harness: execv failed\n";
  [[maybe_unused]] const ssize_t ignored =
      ::write(STDERR_FILENO, kExecFailed, sizeof kExecFailed - 1);
  ::_exit(127);
}

// Reaps pid if it has exited (blocking: waits for it). Returns the wait
// status, or nullopt when it is still running (non-blocking only).
std::optional<int> reap(pid_t pid, bool block) {
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, block ? 0 : WNOHANG);
    if (r == pid) return status;
    if (r == 0) return std::nullopt;
    if (errno != EINTR) return status;  // ECHILD: already reaped; nothing to wait for
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with wait status " + std::to_string(status);
}

// Waits until pid exits; on the deadline kills it and returns nullopt.
std::optional<int> wait_for_exit(pid_t pid, milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    if (auto status = reap(pid, false)) return status;
    std::this_thread::sleep_for(kPollInterval);
  }
  ::kill(pid, SIGKILL);
  reap(pid, true);
  return std::nullopt;
}

std::string read_file_from(const std::string& path, long long offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(offset);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

long long file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<long long>(size);
}

std::string tail_of(const std::string& path) {
  const long long size = file_size_or_zero(path);
  const long long from = std::max(0LL, size - static_cast<long long>(kLogTailBytes));
  return "--- tail of " + path + " ---\n" + read_file_from(path, from) + "--- end of log ---";
}

// ---------------------------------------------------------------- polling

// Calls `problem` until it returns "" (ready) or the deadline passes, then
// throws naming `what` and the last problem seen. Exceptions from `problem`
// (a server not answering yet) count as "not yet".
void poll_until(const std::string& what, milliseconds deadline,
                const std::function<std::string()>& problem) {
  const auto until = Clock::now() + deadline;
  std::string last;
  for (;;) {
    try {
      last = problem();
      if (last.empty()) return;
    } catch (const std::exception& e) {
      last = e.what();
    }
    if (Clock::now() >= until) {
      throw std::runtime_error("timed out after " + std::to_string(deadline.count()) +
                               " ms waiting for " + what + ": " + last);
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

// ---------------------------------------------------------------- hiredis

struct Reply {
  int type = REDIS_REPLY_NIL;
  std::string str;  // string, status, error
  long long integer = 0;
  std::vector<Reply> elements;
};

Reply to_reply(const redisReply& r) {
  Reply out;
  out.type = r.type;
  out.integer = r.integer;
  if (r.str != nullptr) out.str.assign(r.str, r.len);
  for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(to_reply(*r.element[i]));
  return out;
}

std::string render(const Reply& r) {
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      return std::to_string(r.integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_ERROR:
      return "(error) " + r.str;
    case REDIS_REPLY_ARRAY: {
      std::vector<std::string> parts;
      for (const Reply& e : r.elements) parts.push_back(render(e));
      return joined(parts, "\n");
    }
    default:
      return r.str;
  }
}

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

timeval to_timeval(milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  return tv;
}

// hiredis 0.14 writes with write(2): a server closing the connection under
// us would kill the test with SIGPIPE instead of giving an error.
void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

// One command on a fresh connection. Throws on connect/I/O errors and
// timeouts; a Redis error reply is returned, not thrown.
Reply call(int port, const std::vector<std::string>& argv, milliseconds timeout = 1s) {
  ignore_sigpipe_once();
  const std::string what =
      (argv.empty() ? std::string("(empty)") : argv.front()) + " on " + address(port);
  const timeval tv = to_timeval(timeout);
  std::unique_ptr<redisContext, ContextFree> ctx(redisConnectWithTimeout(kLoopback, port, tv));
  if (!ctx) throw std::runtime_error(what + ": cannot allocate a hiredis context");
  if (ctx->err != 0) throw std::runtime_error(what + ": connect failed: " + ctx->errstr);
  // redisConnectWithTimeout bounds only the connect; this bounds the reply.
  if (redisSetTimeout(ctx.get(), tv) != REDIS_OK) {
    throw std::runtime_error(what + ": cannot set the timeout: " + ctx->errstr);
  }
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lengths.push_back(a.size());
  }
  std::unique_ptr<redisReply, ReplyFree> reply(static_cast<redisReply*>(
      redisCommandArgv(ctx.get(), static_cast<int>(argv.size()), args.data(), lengths.data())));
  if (!reply) {
    throw std::runtime_error(what + ": no reply within " + std::to_string(timeout.count()) +
                             " ms: " + ctx->errstr);
  }
  return to_reply(*reply);
}

// Runs a command that must answer +OK.
void expect_ok(int port, const std::vector<std::string>& argv, milliseconds timeout = 1s) {
  const Reply r = call(port, argv, timeout);
  if (r.type != REDIS_REPLY_STATUS || r.str != "OK") {
    throw std::runtime_error(joined(argv, " ") + " on " + address(port) + " answered " + render(r));
  }
}

// The value of `field` in a flat [field, value, field, value, ...] reply.
std::string field(const Reply& flat, std::string_view name) {
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    if (flat.elements[i].str == name) return render(flat.elements[i + 1]);
  }
  return "(missing " + std::string(name) + ")";
}

bool has_line(const std::string& text, std::string_view line) {
  std::stringstream lines(text);
  for (std::string l; std::getline(lines, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l == line) return true;
  }
  return false;
}

}  // namespace

// ================================================================= free functions

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  // The sockets API takes every address family through a sockaddr*.
  auto* generic = reinterpret_cast<sockaddr*>(&addr);
  if (::bind(fd, generic, sizeof addr) != 0 || ::getsockname(fd, generic, &len) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    throw_errno("bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string redis_command(int port, const std::vector<std::string>& argv, milliseconds timeout) {
  return render(call(port, argv, timeout));
}

TempDir::TempDir(std::string_view prefix) {
  std::string pattern = "/tmp/" + std::string(prefix) + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;  // a destructor must not throw; /tmp is cleaned eventually anyway
  std::filesystem::remove_all(path_, ignored);
}

// ================================================================= RedisServer

RedisServer::RedisServer(RedisServerOptions options)
    : options_(std::move(options)),
      dir_(options_.sentinel ? "ratelimit-sentinel" : "ratelimit-redis") {
  std::ofstream config(dir_.path() + "/redis.conf");
  for (const std::string& line : options_.config_lines) config << line << '\n';
  if (!config.flush()) throw std::runtime_error("cannot write " + dir_.path() + "/redis.conf");
}

std::unique_ptr<RedisServer> RedisServer::start(RedisServerOptions options) {
  constexpr int kAttempts = 5;
  const bool fixed_port = options.port.has_value();
  std::unique_ptr<RedisServer> server(new RedisServer(std::move(options)));
  for (int attempt = 1;; ++attempt) {
    server->port_ = fixed_port ? *server->options_.port : free_loopback_port();
    if (server->options_.cluster) server->bus_port_ = free_loopback_port();
    server->launch();
    if (server->wait_until_ready(!fixed_port && attempt < kAttempts)) return server;
  }
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);  // not needed for SIGKILL, but leaves no stopped process behind
    ::kill(pid_, SIGKILL);
    reap(pid_, true);
  }
}

std::string RedisServer::log_path() const { return dir_.path() + "/redis.log"; }
std::string RedisServer::pid_file() const { return dir_.path() + "/redis.pid"; }
std::string RedisServer::url() const { return "redis://" + address(port_); }
std::string RedisServer::log_tail() const { return tail_of(log_path()); }

std::vector<std::string> RedisServer::command_line() const {
  std::vector<std::string> argv = {redis_server_path(), dir_.path() + "/redis.conf"};
  if (options_.sentinel) argv.push_back("--sentinel");
  argv.insert(argv.end(),
              {"--port", std::to_string(port_), "--bind", kLoopback, "--save", "", "--appendonly",
               "no", "--protected-mode", "no", "--dir", dir_.path(), "--pidfile", pid_file()});
  if (options_.cluster) {
    argv.insert(argv.end(), {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                             "--cluster-port", std::to_string(bus_port_)});
  }
  argv.insert(argv.end(), options_.args.begin(), options_.args.end());
  return argv;
}

void RedisServer::launch() {
  // A SIGKILLed server leaves its pid file behind; its presence must mean
  // "the new process got past binding its ports".
  std::filesystem::remove(pid_file());
  log_offset_ = file_size_or_zero(log_path());
  pid_ = spawn(command_line(), log_path());
}

// True once the server answers PING. False if it lost the race for its port
// and may retry on another; throws on any other failure or on the deadline.
bool RedisServer::wait_until_ready(bool bind_race_is_retryable) {
  const std::string what =
      std::string(options_.sentinel ? "redis-server --sentinel" : "redis-server") + " on " +
      address(port_);
  const auto until = Clock::now() + kStartupDeadline;
  std::string last_error = "no pid file yet";
  while (Clock::now() < until) {
    if (const auto status = reap(pid_, false)) {
      pid_ = 0;
      const std::string log = read_file_from(log_path(), log_offset_);
      if (bind_race_is_retryable && log.find("Address already in use") != std::string::npos) {
        return false;
      }
      throw std::runtime_error(what + " " + describe_status(*status) + " during startup\n" +
                               log_tail());
    }
    // Redis writes its pid file only after binding: until then a PING could
    // reach whoever else holds the port.
    if (std::filesystem::exists(pid_file())) {
      try {
        call(port_, {"PING"}, 200ms);  // any reply, NOAUTH included, means "up"
        return true;
      } catch (const std::exception& e) {
        last_error = e.what();
      }
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  kill();
  throw std::runtime_error(what + " did not answer PING within " +
                           std::to_string(kStartupDeadline.count()) + " ms (" + last_error + ")\n" +
                           log_tail());
}

void RedisServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(pid_, true);
  pid_ = 0;
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  ::kill(pid_, SIGCONT);  // a paused server must run to handle SIGTERM
  const pid_t pid = std::exchange(pid_, 0);
  if (!wait_for_exit(pid, kStopDeadline)) {
    throw std::runtime_error("redis-server on " + address(port_) + " did not exit within " +
                             std::to_string(kStopDeadline.count()) + " ms of SIGTERM; killed\n" +
                             log_tail());
  }
}

void RedisServer::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void RedisServer::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

void RedisServer::restart() {
  if (running()) throw std::logic_error("RedisServer::restart: kill() or stop() it first");
  launch();
  wait_until_ready(false);  // same port: someone else holding it is an error
}

bool RedisServer::running() const {
  if (pid_ <= 0) return false;
  if (reap(pid_, false)) pid_ = 0;
  return pid_ > 0;
}

std::string RedisServer::command(std::initializer_list<std::string> argv) const {
  return command(std::vector<std::string>(argv));
}

std::string RedisServer::command(const std::vector<std::string>& argv) const {
  return redis_command(port_, argv);
}

long long RedisServer::dbsize() const {
  const Reply r = call(port_, {"DBSIZE"});
  if (r.type != REDIS_REPLY_INTEGER) {
    throw std::runtime_error("DBSIZE on " + address(port_) + " answered " + render(r));
  }
  return r.integer;
}

// ================================================================= RedisSentinelGroup

std::unique_ptr<RedisSentinelGroup> RedisSentinelGroup::start(std::string master_name) {
  const auto until = Clock::now() + kGroupDeadline;
  const auto remaining = [&] {
    return std::max(0ms, std::chrono::duration_cast<milliseconds>(until - Clock::now()));
  };
  std::unique_ptr<RedisSentinelGroup> group(new RedisSentinelGroup(std::move(master_name)));
  // Redis 7 delays a diskless full sync by 5 s to batch replicas; with one
  // replica that is only waiting.
  group->master_ = RedisServer::start({.args = {"--repl-diskless-sync-delay", "0"}});
  const std::string master_port = std::to_string(group->master_->port());
  group->replica_ = RedisServer::start({.args = {"--replicaof", kLoopback, master_port}});

  // Sentinels learn the replica from the master's INFO, which they ask for as
  // soon as they connect: start them once the replica is attached.
  const RedisServer& replica = *group->replica_;
  poll_until("the replica on " + address(replica.port()) + " to sync", remaining(), [&] {
    const std::string info = replica.command({"INFO", "replication"});
    return has_line(info, "master_link_status:up") ? "" : "master_link_status is not up";
  });

  const std::string& name = group->name_;
  for (auto& sentinel : group->sentinels_) {
    sentinel = RedisServer::start({
        .config_lines = {"sentinel monitor " + name + " " + kLoopback + " " + master_port + " 2",
                         "sentinel down-after-milliseconds " + name + " 1000",
                         "sentinel failover-timeout " + name + " 10000",
                         "sentinel parallel-syncs " + name + " 1"},
        .sentinel = true,
    });
  }
  poll_until("the sentinels to see master, replica and each other", remaining(), [&] {
    for (const auto& sentinel : group->sentinels_) {
      if (std::string problem = group->sentinel_problem(*sentinel); !problem.empty())
        return problem;
    }
    return std::string();
  });
  return group;
}

std::string RedisSentinelGroup::sentinel_problem(const RedisServer& sentinel) const {
  const std::string who = "sentinel " + address(sentinel.port()) + " ";
  const std::string expected_master =
      std::string(kLoopback) + "\n" + std::to_string(master_->port());
  const std::string named = sentinel.command({"SENTINEL", "get-master-addr-by-name", name_});
  if (named != expected_master) return who + "names master " + named;
  const Reply m = call(sentinel.port(), {"SENTINEL", "master", name_});
  if (field(m, "num-slaves") != "1") return who + "knows " + field(m, "num-slaves") + " replicas";
  if (field(m, "num-other-sentinels") != "2") {
    return who + "knows " + field(m, "num-other-sentinels") + " other sentinels";
  }
  return {};
}

std::vector<int> RedisSentinelGroup::sentinel_ports() const {
  std::vector<int> ports;
  for (const auto& s : sentinels_) ports.push_back(s->port());
  return ports;
}

std::string RedisSentinelGroup::sentinel_url(std::string_view name) const {
  std::vector<std::string> hosts;
  for (int port : sentinel_ports()) hosts.push_back(address(port));
  return "redis+sentinel://" + joined(hosts, ",") + "/" + std::string(name);
}

int RedisSentinelGroup::master_port_by_sentinels() const {
  std::map<int, std::vector<int>> named;  // master port -> sentinels naming it
  for (const auto& s : sentinels_) {
    if (!s->running()) continue;
    try {
      const Reply r = call(s->port(), {"SENTINEL", "get-master-addr-by-name", name_});
      if (r.type == REDIS_REPLY_ARRAY && r.elements.size() == 2) {
        named[std::stoi(r.elements[1].str)].push_back(s->port());
      }
    } catch (const std::runtime_error&) {
      // A sentinel that does not answer (paused, overloaded) has no say.
    }
  }
  if (named.empty()) throw std::runtime_error("no sentinel of " + name_ + " answered");
  if (named.size() > 1) {
    std::string views;
    for (const auto& [master, sentinels] : named) {
      views += " " + std::to_string(sentinels.size()) + " name " + address(master) + ";";
    }
    throw std::runtime_error("the sentinels disagree on the master of " + name_ + ":" + views);
  }
  return named.begin()->first;
}

int RedisSentinelGroup::wait_for_failover(int old_master_port, milliseconds deadline) const {
  int new_master = 0;
  poll_until("the sentinels to fail " + name_ + " over from " + address(old_master_port), deadline,
             [&] {
               const int named = master_port_by_sentinels();
               if (named == old_master_port) return "the sentinels still name " + address(named);
               const Reply role = call(named, {"ROLE"});
               if (role.elements.empty() || role.elements[0].str != "master") {
                 return "the sentinels name " + address(named) + " but its ROLE is " + render(role);
               }
               new_master = named;
               return std::string();
             });
  return new_master;
}

// ================================================================= RedisCluster

namespace {

// Slot -> owner port (0 if unassigned) from one node's CLUSTER SLOTS, whose
// entries are [first, last, [ip, port, id, ...], replicas...].
std::vector<int> slot_owners(int port) {
  const Reply r = call(port, {"CLUSTER", "SLOTS"});
  if (r.type != REDIS_REPLY_ARRAY) {
    throw std::runtime_error("CLUSTER SLOTS on " + address(port) + " answered " + render(r));
  }
  std::vector<int> owners(RedisCluster::kSlots, 0);
  for (const Reply& range : r.elements) {
    if (range.elements.size() < 3 || range.elements[2].elements.size() < 2) {
      throw std::runtime_error("CLUSTER SLOTS on " + address(port) + ": unexpected entry " +
                               render(range));
    }
    const auto owner = static_cast<int>(range.elements[2].elements[1].integer);
    for (long long s = range.elements[0].integer; s <= range.elements[1].integer; ++s) {
      owners.at(static_cast<std::size_t>(s)) = owner;
    }
  }
  return owners;
}

std::string node_id(int port) {
  const Reply r = call(port, {"CLUSTER", "MYID"});
  if (r.type != REDIS_REPLY_STRING) {
    throw std::runtime_error("CLUSTER MYID on " + address(port) + " answered " + render(r));
  }
  return r.str;
}

// CRC16-CCITT as Redis Cluster uses it: XMODEM (poly 0x1021, init 0, no
// reflection). Bitwise rather than a table: speed does not matter here.
std::uint16_t crc16_xmodem(std::string_view data) {
  std::uint16_t crc = 0;
  for (const char c : data) {
    crc = static_cast<std::uint16_t>(crc ^ (static_cast<std::uint8_t>(c) << 8));
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

}  // namespace

std::unique_ptr<RedisCluster> RedisCluster::start() {
  std::unique_ptr<RedisCluster> cluster(new RedisCluster());
  for (auto& node : cluster->nodes_) {
    node = RedisServer::start({.args = {"--cluster-node-timeout", "2000"}, .cluster = true});
  }
  cluster->create_with_redis_cli();
  poll_until("the cluster " + cluster->url() + " to be ready", kGroupDeadline,
             [&] { return cluster->readiness_problem(); });
  return cluster;
}

void RedisCluster::create_with_redis_cli() const {
  std::vector<std::string> argv = {find_executable("redis-cli"), "--cluster", "create"};
  for (int port : ports()) argv.push_back(address(port));
  argv.insert(argv.end(), {"--cluster-replicas", "0", "--cluster-yes"});
  const std::string log = dir_.path() + "/redis-cli.log";
  const std::optional<int> status = wait_for_exit(spawn(argv, log), kRedisCliDeadline);
  if (!status) {
    throw std::runtime_error("redis-cli --cluster create did not finish within " +
                             std::to_string(kRedisCliDeadline.count()) + " ms; killed\n" +
                             tail_of(log));
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    throw std::runtime_error("redis-cli --cluster create " + describe_status(*status) + "\n" +
                             tail_of(log));
  }
}

std::string RedisCluster::readiness_problem() const {
  const std::vector<int> reference = slot_owners(nodes_[0]->port());
  for (const auto& node : nodes_) {
    const std::string where = "node " + address(node->port());
    if (!has_line(node->command({"CLUSTER", "INFO"}), "cluster_state:ok")) {
      return where + " does not say cluster_state:ok";
    }
    const std::vector<int> owners = slot_owners(node->port());
    if (std::count(owners.begin(), owners.end(), 0) != 0) return where + " has unassigned slots";
    if (owners != reference) return where + " disagrees with node 0 on CLUSTER SLOTS";
  }
  return {};
}

RedisServer& RedisCluster::node_on_port(int port) {
  for (auto& node : nodes_) {
    if (node->port() == port) return *node;
  }
  throw std::invalid_argument("no node of the cluster listens on " + address(port));
}

std::vector<int> RedisCluster::ports() const {
  std::vector<int> out;
  for (const auto& node : nodes_) out.push_back(node->port());
  return out;
}

std::string RedisCluster::url() const {
  std::vector<std::string> hosts;
  for (int port : ports()) hosts.push_back(address(port));
  return "redis+cluster://" + joined(hosts, ",");
}

int RedisCluster::owner_port(int slot) const {
  if (slot < 0 || slot >= kSlots) throw std::out_of_range("slot " + std::to_string(slot));
  return slot_owners(nodes_[0]->port())[static_cast<std::size_t>(slot)];
}

int RedisCluster::key_slot(std::string_view key) {
  // Hash tag: the part between the first '{' and the first '}' after it, if
  // that part is not empty. Otherwise the whole key is hashed.
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return crc16_xmodem(key) % kSlots;
}

RedisCluster::SlotMigration RedisCluster::begin_migration(int slot, int to_port) {
  SlotMigration m;
  m.slot = slot;
  m.source_port = owner_port(slot);
  m.target_port = node_on_port(to_port).port();
  if (m.source_port == m.target_port) {
    throw std::invalid_argument("slot " + std::to_string(slot) + " already belongs to " +
                                address(to_port));
  }
  m.source_id = node_id(m.source_port);
  m.target_id = node_id(m.target_port);
  const std::string s = std::to_string(slot);

  // The documented order: importing first, so that the ASK redirections the
  // source starts giving are accepted by the target.
  expect_ok(m.target_port, {"CLUSTER", "SETSLOT", s, "IMPORTING", m.source_id});
  expect_ok(m.source_port, {"CLUSTER", "SETSLOT", s, "MIGRATING", m.target_id});
  for (;;) {
    const Reply keys = call(m.source_port, {"CLUSTER", "GETKEYSINSLOT", s, "100"});
    if (keys.type != REDIS_REPLY_ARRAY) {
      throw std::runtime_error("CLUSTER GETKEYSINSLOT on " + address(m.source_port) + " answered " +
                               render(keys));
    }
    if (keys.elements.empty()) break;
    std::vector<std::string> migrate = {
        "MIGRATE", kLoopback, std::to_string(m.target_port), "", "0", "5000", "KEYS"};
    for (const Reply& k : keys.elements) migrate.push_back(k.str);
    expect_ok(m.source_port, migrate, 6s);  // MIGRATE itself may take its 5 s timeout
  }
  return m;
}

void RedisCluster::finish_migration(const SlotMigration& m) {
  const std::string s = std::to_string(m.slot);
  // Target first: it then owns the slot with a bumped epoch before the source
  // stops redirecting with ASK; the third node is told rather than waiting
  // for gossip.
  expect_ok(m.target_port, {"CLUSTER", "SETSLOT", s, "NODE", m.target_id});
  expect_ok(m.source_port, {"CLUSTER", "SETSLOT", s, "NODE", m.target_id});
  for (const auto& node : nodes_) {
    if (node->port() != m.source_port && node->port() != m.target_port) {
      expect_ok(node->port(), {"CLUSTER", "SETSLOT", s, "NODE", m.target_id});
    }
  }
  poll_until("every node to name " + address(m.target_port) + " as the owner of slot " + s,
             kSlotAgreementDeadline, [&] {
               for (const auto& node : nodes_) {
                 const int owner = slot_owners(node->port())[static_cast<std::size_t>(m.slot)];
                 if (owner != m.target_port) {
                   return "node " + address(node->port()) + " names " + address(owner);
                 }
               }
               return std::string();
             });
}

void RedisCluster::migrate_slot(int slot, int to_port) {
  finish_migration(begin_migration(slot, to_port));
}

}  // namespace ratelimit::testing
