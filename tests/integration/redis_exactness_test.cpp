// Exactness across processes: 4 processes x 8 threads, each process with its
// own connections, hammer one key limited to 1000 per minute. Exactly 1000
// are admitted, for every algorithm: each decision is one atomic script.

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <string>
#include <vector>

#include "ratelimit/redis_store.hpp"
#include "support/redis_harness.hpp"

extern char** environ;

namespace ratelimit {
namespace {

using testing::RedisServer;

constexpr int kProcesses = 4;
constexpr int kThreads = 8;
constexpr int kAttempts = 100;  // 3200 attempts in all: more than three times the limit
constexpr long long kLimit = 1000;

// A running redis_hammer whose stdout we read.
struct Hammer {
  pid_t pid = 0;
  int out = -1;
};

Hammer spawn_hammer(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  Hammer h;
  const int rc = posix_spawn(&h.pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) throw std::runtime_error("posix_spawn " + args[0] + " failed");
  h.out = fds[0];
  return h;
}

// Waits for the process; returns the number it printed (-1 if it failed).
long long collect(const Hammer& h) {
  std::string text;
  std::array<char, 256> buf{};
  ssize_t n = 0;
  while ((n = read(h.out, buf.data(), buf.size())) > 0) text.append(buf.data(), static_cast<std::size_t>(n));
  close(h.out);
  int status = 0;
  waitpid(h.pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || text.empty()) return -1;
  return std::stoll(text);
}

long long run_hammers(const std::string& url, const std::string& algorithm, const std::string& key,
                      const std::vector<std::string>& instant) {
  std::vector<Hammer> hammers;
  for (int p = 0; p < kProcesses; ++p) {
    std::vector<std::string> args{RATELIMIT_REDIS_HAMMER, url, algorithm, std::to_string(kLimit),
                                  std::to_string(kMicrosPerMinute), std::to_string(kThreads),
                                  std::to_string(kAttempts), key};
    args.insert(args.end(), instant.begin(), instant.end());
    hammers.push_back(spawn_hammer(args));
  }
  long long total = 0;
  for (const Hammer& h : hammers) {
    const long long n = collect(h);
    EXPECT_GE(n, 0) << "a hammer process failed";
    total += n;
  }
  return total;
}

class RedisExactness : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() { server_ = RedisServer::start(); }
  static void TearDownTestSuite() { server_.reset(); }
  static std::unique_ptr<RedisServer> server_;
};
std::unique_ptr<RedisServer> RedisExactness::server_;

TEST_P(RedisExactness, FourProcessesAdmitExactlyTheLimit) {
  const std::string algorithm = GetParam();
  // Every decision at one instant: nothing refills, so exactly kLimit pass.
  const long long admitted =
      run_hammers(server_->url(), algorithm, "exact:" + algorithm, {std::to_string(1'800'000'000'000'000LL)});
  EXPECT_EQ(admitted, kLimit) << algorithm;
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, RedisExactness,
                         ::testing::Values("token_bucket", "gcra", "leaky_bucket", "fixed_window", "sliding_window",
                                           "sliding_log"));

TEST(RedisExactnessServerTime, TokenBucketAdmitsTheLimitPlusOnlyWhatRefilled) {
  auto server = RedisServer::start();
  const auto start = std::chrono::steady_clock::now();
  const long long admitted = run_hammers(server->url(), "token_bucket", "server-time", {});
  const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Redis TIME moves during the run: the bucket refills 1000/60 per second.
  EXPECT_GE(admitted, kLimit);
  EXPECT_LE(admitted, kLimit + static_cast<long long>(elapsed_s * 1000.0 / 60.0) + 1);
}

}  // namespace
}  // namespace ratelimit
