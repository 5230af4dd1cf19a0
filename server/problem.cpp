#include "problem.hpp"

#include <boost/json.hpp>

namespace ratelimitd {

std::string_view reason_phrase(unsigned status) noexcept {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

HttpReply problem(unsigned status, std::string_view detail, std::string_view field) {
  boost::json::object body;
  body["type"] = "about:blank";
  body["title"] = reason_phrase(status);
  body["status"] = status;
  body["detail"] = detail;
  if (!field.empty()) body["field"] = field;
  HttpReply reply;
  reply.status = status;
  reply.content_type = "application/problem+json";
  reply.body = boost::json::serialize(body);
  return reply;
}

}  // namespace ratelimitd
