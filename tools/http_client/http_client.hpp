#pragma once
// A small synchronous HTTP/1.1 client (Boost.Beast) for the `ratelimit` CLI's
// client commands and the service tests: one request per connection.

#include <chrono>
#include <map>
#include <string>

namespace ratelimit::http_client {

struct Response {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
  [[nodiscard]] std::string header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

/// Where a server is: from "http://HOST:PORT" (path ignored; https is not
/// supported). Throws std::invalid_argument naming the problem.
struct Endpoint {
  std::string host;
  unsigned short port = 80;
  static Endpoint parse(const std::string& url);
};

/// Sends one request and reads the reply (bodies up to 64 MiB). Throws
/// std::runtime_error naming the server when it cannot connect or the
/// exchange fails or takes longer than `timeout`.
Response request(const Endpoint& server, const std::string& method, const std::string& target,
                 const std::string& body = "",
                 const std::map<std::string, std::string>& headers = {},
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace ratelimit::http_client
