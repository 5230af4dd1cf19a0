#include "keepalive_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

namespace ratelimit::testing {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

KeepAliveClient::KeepAliveClient(int port, std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout), stream_(io_) {}

void KeepAliveClient::connect() {
  stream_.expires_after(timeout_);
  stream_.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                static_cast<unsigned short>(port_)));
  buffer_.clear();
  connected_ = true;
}

KeepAliveClient::Reply KeepAliveClient::post(const std::string& target, const std::string& body) {
  const auto start = std::chrono::steady_clock::now();
  try {
    if (!connected_) connect();
    http::request<http::string_body> request{http::verb::post, target, 11};
    request.set(http::field::host, "127.0.0.1");
    request.set(http::field::content_type, "application/json");
    request.keep_alive(true);
    request.body() = body;
    request.prepare_payload();
    stream_.expires_after(timeout_);
    http::write(stream_, request);
    http::response<http::string_body> response;
    http::read(stream_, buffer_, response);
    Reply reply{response.result_int(), std::move(response.body()),
                std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - start)};
    if (!response.keep_alive()) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_.close();
      connected_ = false;
    }
    return reply;
  } catch (const std::exception& e) {
    stream_.close();
    connected_ = false;
    throw std::runtime_error("127.0.0.1:" + std::to_string(port_) + " " + target + ": " + e.what());
  }
}

}  // namespace ratelimit::testing
