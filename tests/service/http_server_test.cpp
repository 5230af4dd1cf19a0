// The HTTP server under ratelimitd, in-process: slow or silent clients are
// cut off by the per-loop watchdog (deadline.hpp) at their deadlines, and a
// stop ends idle connections. Real sockets on loopback; the test waits for
// the server to act, it never sleeps a fixed time.

#include "http_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <string>
#include <thread>

namespace ratelimitd {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class RunningServer {
 public:
  explicit RunningServer(ServerLimits limits)
      : server_("127.0.0.1", 0, 1, limits, [](const HttpRequest& r) {
          HttpReply reply;
          reply.body = "{\"path\":\"" + r.target + "\"}";
          return reply;
        }),
        thread_([this] { server_.run(); }) {}
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

}  // namespace
}  // namespace ratelimitd
