#include "test_upstream.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <array>
#include <string>
#include <thread>

namespace ratelimit::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::uint32_t body_checksum(const char* data, std::size_t size, std::uint64_t offset,
                            std::uint32_t sum) {
  for (std::size_t i = 0; i < size; ++i) {
    sum += static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) *
           static_cast<std::uint32_t>(offset + i + 1);
  }
  return sum;
}

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

std::uint64_t query_bytes(std::string_view target) {
  const auto at = target.find("bytes=");
  if (at == std::string_view::npos) return 0;
  return std::stoull(std::string(target.substr(at + 6)));
}

std::string pattern(std::uint64_t from, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((from + i) % 251);
  return s;
}

}  // namespace

struct TestUpstream::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> connections{0};
  std::thread thread;

  asio::awaitable<void> serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::buffer_body> parser;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
      if (ec) co_return;
      // Read the body in chunks, counting and summing it.
      std::array<char, 8192> chunk;
      std::uint64_t bytes = 0;
      std::uint32_t sum = 0;
      while (!parser.is_done()) {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kNoThrow);
        if (bec && bec != http::error::need_buffer) co_return;
        const std::size_t got = chunk.size() - parser.get().body().size;
        sum = body_checksum(chunk.data(), got, bytes, sum);
        bytes += got;
      }
      hits.fetch_add(1);
      const auto& req = parser.get();
      const std::string target(req.target());
      const bool keep_alive = req.keep_alive();

      if (target.rfind("/stream", 0) == 0) {
        http::response<http::empty_body> head{http::status::ok, 11};
        head.chunked(true);
        head.keep_alive(keep_alive);
        http::response_serializer<http::empty_body> sr{head};
        auto [hec, hn] = co_await http::async_write_header(stream, sr, kNoThrow);
        if (hec) co_return;
        const std::uint64_t total = query_bytes(target);
        for (std::uint64_t sent = 0; sent < total;) {
          const std::size_t n1 = static_cast<std::size_t>(std::min<std::uint64_t>(65536, total - sent));
          const std::string piece = pattern(sent, n1);
          auto [cec, cn] = co_await asio::async_write(
              stream, http::make_chunk(asio::buffer(piece)), kNoThrow);
          if (cec) co_return;
          sent += n1;
        }
        auto [lec, ln] = co_await asio::async_write(stream, http::make_chunk_last(), kNoThrow);
        if (lec || !keep_alive) co_return;
        continue;
      }
      if (target.rfind("/hang", 0) == 0) {
        // Never answers (until the upstream stops, or the peer gives up).
        asio::steady_timer forever(io, std::chrono::minutes(10));
        (void)co_await forever.async_wait(kNoThrow);
        co_return;
      }
      if (target.rfind("/garbage", 0) == 0) {
        // Not an HTTP response at all.
        const std::string junk = "NOT HTTP AT ALL\r\n\r\n";
        (void)co_await asio::async_write(stream, asio::buffer(junk), kNoThrow);
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return;
      }
      if (target.rfind("/close", 0) == 0) {
        const std::string body = pattern(0, static_cast<std::size_t>(query_bytes(target)));
        const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n";
        (void)co_await asio::async_write(
            stream, std::array{asio::buffer(head), asio::buffer(body)}, kNoThrow);
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return;
      }
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::server, "test-upstream");
      if (target.rfind("/echo", 0) == 0) {
        boost::json::object headers;
        for (const auto& f : req) {
          std::string name(f.name_string());
          for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          headers[name] = f.value();
        }
        boost::json::object body{{"method", std::string(req.method_string())},
                                 {"target", target},
                                 {"headers", headers},
                                 {"body_bytes", bytes},
                                 {"body_sum", sum}};
        res.set(http::field::content_type, "application/json");
        res.body() = boost::json::serialize(body);
      } else if (target.rfind("/own-headers", 0) == 0) {
        // Headers of the names the proxy sets (in another case), and one of its own.
        res.set("X-RateLimit-Limit", "999");
        res.set("ratelimit-remaining", "77");
        res.set("X-Upstream", "yes");
        res.body() = "own";
      } else if (target.rfind("/status/", 0) == 0) {
        res.result(static_cast<unsigned>(std::stoul(target.substr(8))));
        res.body() = "status " + target.substr(8);
      } else {
        res.body() = "hello from upstream";
      }
      res.keep_alive(keep_alive);
      res.prepare_payload();
      if (req.method() == http::verb::head) {
        // The length a GET would have, and no body.
        http::response_serializer<http::string_body> head{res};
        auto [hec, hn] = co_await http::async_write_header(stream, head, kNoThrow);
        if (hec || !keep_alive) co_return;
        continue;
      }
      auto [wec, wn] = co_await http::async_write(stream, res, kNoThrow);
      if (wec || !keep_alive) co_return;
      if (target.rfind("/drop-after", 0) == 0) {
        // Keep-alive was promised; the connection closes anyway, as an
        // upstream's idle timeout would close it.
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return;
      }
    }
  }

  asio::awaitable<void> accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
      if (ec) co_return;
      connections.fetch_add(1);
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }
};

TestUpstream::TestUpstream() : impl_(std::make_unique<Impl>()) {
  asio::co_spawn(impl_->io, impl_->accept(), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

TestUpstream::~TestUpstream() {
  impl_->io.stop();
  impl_->thread.join();
}

int TestUpstream::port() const noexcept { return impl_->acceptor.local_endpoint().port(); }
std::uint64_t TestUpstream::hits() const noexcept { return impl_->hits.load(); }
std::uint64_t TestUpstream::connections() const noexcept { return impl_->connections.load(); }

}  // namespace ratelimit::testing
