// One blocking hiredis connection: connect with timeouts, AUTH, SELECT, and
// a pipelined round trip (all commands written at once, replies read in order).

#include "store/redis/connection.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/time.h>

namespace ratelimit::redis {

namespace {

timeval to_timeval(int ms) {
  return timeval{ms / 1000, static_cast<suseconds_t>((ms % 1000) * 1000)};
}

// hiredis reports both a connect timeout ("Connection timed out") and a
// command timeout on a blocking socket (SO_RCVTIMEO: "Resource temporarily
// unavailable") only as an I/O error with errno's text.
bool is_timeout(const redisContext& ctx) {
  return ctx.err == REDIS_ERR_IO &&
         (std::strstr(ctx.errstr, "timed out") != nullptr || std::strstr(ctx.errstr, "temporarily unavailable") != nullptr);
}

// hiredis writes with write(2): a Redis that closed the connection would raise
// SIGPIPE, whose default action kills the process. Ignore it unless the
// application installed its own handler (the write then fails with EPIPE,
// which is a connection error like any other).
void ignore_sigpipe_once() {
  static const bool done = [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      (void)signal(SIGPIPE, SIG_IGN);
    }
    return true;
  }();
  (void)done;
}

}  // namespace

std::string describe(const RedisEndpoint& at) { return at.host + ":" + std::to_string(at.port); }

std::string_view error_text(const redisReply& r) noexcept {
  if (r.type != REDIS_REPLY_ERROR || r.str == nullptr) return {};
  return {r.str, r.len};
}

std::unique_ptr<Connection> Connection::open(const RedisEndpoint& at, const ConnectSettings& settings) {
  ignore_sigpipe_once();
  redisContext* ctx = redisConnectWithTimeout(at.host.c_str(), at.port, to_timeval(settings.connect_timeout_ms));
  if (ctx == nullptr) throw StoreUnavailable(StoreUnavailable::Kind::connection, "redis " + describe(at) + ": out of memory");
  std::unique_ptr<Connection> conn(new Connection(ctx, at));
  if (ctx->err != 0) conn->fail("connect");
  if (redisSetTimeout(ctx, to_timeval(settings.command_timeout_ms)) != REDIS_OK) conn->fail("set timeout");
  (void)redisEnableKeepAlive(ctx);

  auto must_succeed = [&](Command cmd, std::string_view what) {
    Reply r = conn->run(cmd);
    if (const std::string_view err = error_text(*r); !err.empty()) {
      throw StoreUnavailable(StoreUnavailable::Kind::reply,
                             "redis " + describe(at) + ": " + std::string(what) + " failed: " + std::string(err));
    }
  };
  if (!settings.password.empty()) {
    if (settings.username.empty()) {
      must_succeed(Command{{"AUTH", settings.password}}, "AUTH");
    } else {
      must_succeed(Command{{"AUTH", settings.username, settings.password}}, "AUTH");
    }
  }
  if (settings.database != 0) must_succeed(Command{{"SELECT", std::to_string(settings.database)}}, "SELECT");
  return conn;
}

Connection::~Connection() { redisFree(ctx_); }

void Connection::fail(std::string_view doing) const {
  const auto kind = is_timeout(*ctx_) ? StoreUnavailable::Kind::timeout : StoreUnavailable::Kind::connection;
  const char* text = ctx_->errstr[0] != '\0' ? ctx_->errstr : "connection lost";
  throw StoreUnavailable(kind, "redis " + describe(at_) + ": " + std::string(doing) + ": " + text);
}

void Connection::run(std::span<const Command* const> commands, std::vector<Reply>& out) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const Command* cmd : commands) {
    argv.clear();
    lens.clear();
    for (const std::string& a : cmd->args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK) {
      fail("send");
    }
  }
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) fail("read");
    out.emplace_back(static_cast<redisReply*>(raw));
  }
}

Reply Connection::run(const Command& command) {
  std::vector<Reply> out;
  const Command* one = &command;
  run(std::span<const Command* const>(&one, 1), out);
  return std::move(out.front());
}

}  // namespace ratelimit::redis
