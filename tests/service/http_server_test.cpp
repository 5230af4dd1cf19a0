// The HTTP server under ratelimitd, in-process: slow or silent clients are
// cut off by the per-loop watchdog (deadline.hpp) at their deadlines, a
// stop ends idle connections, the response head it writes, and batch jobs. Real sockets on loopback; the test waits for
// the server to act, it never sleeps a fixed time.

#include "http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ratelimitd {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

HttpReply echo_path(const HttpRequest& r) {
  HttpReply reply;
  reply.body = "{\"path\":\"" + r.target + "\"}";
  return reply;
}

class RunningServer {
 public:
  explicit RunningServer(ServerLimits limits, Handler handler = echo_path)
      : server_("127.0.0.1", 0, 1, limits, std::move(handler)), thread_([this] { server_.run(); }) {}
  ~RunningServer() {
    server_.stop();
    thread_.join();
  }
  [[nodiscard]] std::uint16_t port() const { return server_.port(); }
  void stop() { server_.stop(); }

 private:
  HttpServer server_;
  std::thread thread_;
};

ServerLimits short_timeouts() {
  ServerLimits limits;
  limits.header_timeout = std::chrono::milliseconds(300);
  limits.body_timeout = std::chrono::milliseconds(300);
  return limits;
}

// Sends `bytes`, then reads until the server closes the connection (or 20 s
// pass: a failure). Returns what was read and how long the close took.
struct Closed {
  bool closed = false;
  std::string received;
  std::chrono::milliseconds after{0};
};
Closed send_and_wait_for_close(std::uint16_t port, const std::string& bytes) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  if (!bytes.empty()) asio::write(socket, asio::buffer(bytes));
  const auto start = std::chrono::steady_clock::now();
  Closed out;
  std::array<char, 4096> buf;
  std::function<void()> read_more = [&] {
    socket.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
      out.received.append(buf.data(), n);
      if (ec) {
        out.closed = true;
        out.after = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
        return;
      }
      read_more();
    });
  };
  read_more();
  io.run_for(std::chrono::seconds(20));
  return out;
}

TEST(HttpServerTimeouts, ASilentClientIsCutOffAfterTheHeaderTimeout) {
  RunningServer server(short_timeouts());
  const Closed c = send_and_wait_for_close(server.port(), "");
  EXPECT_TRUE(c.closed);
  EXPECT_EQ(c.received, "");
  EXPECT_GE(c.after, std::chrono::milliseconds(250));  // not before its deadline (less a tick)
}

TEST(HttpServerTimeouts, AHalfSentHeaderIsCutOff) {
  RunningServer server(short_timeouts());
  const Closed c = send_and_wait_for_close(server.port(), "GET /x HTTP/1.1\r\nHost: t\r\n");
  EXPECT_TRUE(c.closed);
  EXPECT_EQ(c.received, "");
}

TEST(HttpServerTimeouts, AStalledBodyIsCutOff) {
  RunningServer server(short_timeouts());
  const Closed c = send_and_wait_for_close(
      server.port(), "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_TRUE(c.closed);
  EXPECT_EQ(c.received, "");
}

TEST(HttpServerTimeouts, AnIdleKeepAliveConnectionIsClosedAfterItsAnswer) {
  RunningServer server(short_timeouts());
  const Closed c = send_and_wait_for_close(server.port(), "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_TRUE(c.closed);
  EXPECT_NE(c.received.find("HTTP/1.1 200 OK"), std::string::npos) << c.received;
  EXPECT_NE(c.received.find("{\"path\":\"/ok\"}"), std::string::npos) << c.received;
}

TEST(HttpServerTimeouts, AnActiveClientIsNotCutOff) {
  RunningServer server(short_timeouts());
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  // 20 requests in a row on one connection: each answered, whatever the
  // total time, since every request restarts the clock.
  asio::streambuf in;
  for (int i = 0; i < 20; ++i) {
    asio::write(socket, asio::buffer(std::string("GET /n HTTP/1.1\r\nHost: t\r\n\r\n")));
    asio::read_until(socket, in, "{\"path\":\"/n\"}");
    in.consume(in.size());
  }
}

TEST(HttpServerTimeouts, StopClosesIdleConnectionsAtOnce) {
  ServerLimits limits;  // 30 s header timeout: only the stop can close it
  RunningServer server(limits);
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  server.stop();
  std::array<char, 16> buf;
  boost::system::error_code ec;
  socket.read_some(asio::buffer(buf), ec);  // returns once the server closed it
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
}

// Reads one response with Content-Length from `socket` (test helper).
std::string read_response(tcp::socket& socket, asio::streambuf& in) {
  const std::size_t head = asio::read_until(socket, in, "\r\n\r\n");
  std::string text(asio::buffers_begin(in.data()), asio::buffers_begin(in.data()) + static_cast<std::ptrdiff_t>(head));
  in.consume(head);
  const auto at = text.find("Content-Length: ");
  const std::size_t length = at == std::string::npos ? 0 : std::stoul(text.substr(at + 16));
  if (in.size() < length) asio::read(socket, in, asio::transfer_exactly(length - in.size()));
  text.append(asio::buffers_begin(in.data()), asio::buffers_begin(in.data()) + static_cast<std::ptrdiff_t>(length));
  in.consume(length);
  return text;
}

// The response head the server writes itself: status line, Server,
// Content-Type, the reply's headers (a CR or LF in one ends it there: no
// header can be smuggled in), Content-Length, and Connection as HTTP/1.0
// and 1.1 each need it.
TEST(HttpServerReplies, TheHeadNamesLengthAndConnectionAndNoHeaderSplits) {
  RunningServer server(ServerLimits{}, [](const HttpRequest&) {
    HttpReply reply;
    reply.status = 429;
    reply.body = "{}";
    reply.headers = {{"Retry-After", "3"}, {"X-Evil", "a\r\nSet-Cookie: x=1"}};
    return reply;
  });
  const Closed one_one = send_and_wait_for_close(server.port(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(one_one.received,
            "HTTP/1.1 429 Too Many Requests\r\nServer: ratelimitd\r\nContent-Type: application/json\r\n"
            "Retry-After: 3\r\nX-Evil: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
  const Closed one_zero = send_and_wait_for_close(server.port(), "GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(one_zero.received.rfind("HTTP/1.0 429 Too Many Requests\r\n", 0), 0u) << one_zero.received;
  EXPECT_EQ(one_zero.received.find("Connection:"), std::string::npos) << "1.0 closes unless told otherwise";

  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  asio::streambuf in;
  asio::write(socket, asio::buffer(std::string("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")));
  EXPECT_NE(read_response(socket, in).find("\r\nConnection: keep-alive\r\n"), std::string::npos);
  asio::write(socket, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: t\r\n\r\n")));
  const std::string kept = read_response(socket, in);  // the connection stayed open
  EXPECT_EQ(kept.find("Connection:"), std::string::npos) << kept;
}

// A reply to HEAD has the GET reply's head, its Content-Length included,
// and no body: the next reply on the connection is read in step.
TEST(HttpServerReplies, AReplyToHeadHasTheLengthAndNoBody) {
  RunningServer server(ServerLimits{});
  const Closed both = send_and_wait_for_close(
      server.port(),
      "HEAD /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(both.closed);
  const std::string head_reply =
      "HTTP/1.1 200 OK\r\nServer: ratelimitd\r\nContent-Type: application/json\r\n"
      "Content-Length: 13\r\n\r\n";
  EXPECT_EQ(both.received, head_reply +
                               "HTTP/1.1 200 OK\r\nServer: ratelimitd\r\nContent-Type: application/json\r\n"
                               "Content-Length: 13\r\nConnection: close\r\n\r\n{\"path\":\"/b\"}");
}

// Handlers that hand back a BatchJob: the jobs of requests read in the same
// turn of the loop run in one BatchRunner::run, every job gets its own
// reply on its own connection, a runner that throws fails only its batch
// (500), and a job without a runner is a 500 too.
class EchoBatch final : public BatchRunner {
 public:
  void run(std::span<BatchJob* const> jobs) override {
    if (fail) throw std::runtime_error("the store broke");
    ++batches;
    jobs_seen += jobs.size();
    for (BatchJob* job : jobs) job->reply.body = "batched " + static_cast<Job*>(job)->target;
  }
  struct Job final : BatchJob {
    std::string target;
  };
  std::atomic<bool> fail{false};
  std::atomic<int> batches{0};
  std::atomic<std::size_t> jobs_seen{0};
};

TEST(HttpServerBatches, JobsOfOneTurnShareARunAndEachGetsItsReply) {
  EchoBatch runner;
  RunningServer server(ServerLimits{}, [&runner](const HttpRequest& r) {
    auto job = std::make_shared<EchoBatch::Job>();
    job->target = r.target;
    job->runner = r.target == "/orphan" ? nullptr : &runner;
    HttpReply later;
    later.job = std::move(job);
    return later;
  });
  constexpr int kClients = 8;
  constexpr int kRequests = 25;
  std::vector<std::thread> clients;
  std::atomic<int> wrong{0};
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      asio::io_context io;
      tcp::socket socket(io);
      socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
      asio::streambuf in;
      for (int i = 0; i < kRequests; ++i) {
        const std::string target = "/c" + std::to_string(c) + "/r" + std::to_string(i);
        asio::write(socket, asio::buffer("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n"));
        const std::string reply = read_response(socket, in);
        if (reply.rfind("HTTP/1.1 200 OK", 0) != 0 || reply.find("\r\n\r\nbatched " + target) == std::string::npos) {
          ++wrong;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(runner.jobs_seen.load(), static_cast<std::size_t>(kClients * kRequests));
  EXPECT_LT(runner.batches.load(), kClients * kRequests) << "no two requests ever shared a batch";

  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  asio::streambuf in;
  asio::write(socket, asio::buffer(std::string("GET /orphan HTTP/1.1\r\nHost: t\r\n\r\n")));
  EXPECT_EQ(read_response(socket, in).rfind("HTTP/1.1 500", 0), 0u);
  runner.fail = true;
  asio::write(socket, asio::buffer(std::string("GET /x HTTP/1.1\r\nHost: t\r\n\r\n")));
  const std::string failed = read_response(socket, in);
  EXPECT_EQ(failed.rfind("HTTP/1.1 500", 0), 0u) << failed;
  EXPECT_NE(failed.find("the store broke"), std::string::npos) << failed;
}

}  // namespace
}  // namespace ratelimitd
