#pragma once
// One HTTP exchange as the service's handlers see it: no sockets, no Beast
// types, so handlers are plain functions tested without a server.

#include <string>
#include <utility>
#include <vector>

namespace ratelimitd {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer;  // the socket peer's address
};

struct HttpReply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace ratelimitd
