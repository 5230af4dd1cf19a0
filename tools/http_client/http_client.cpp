#include "http_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <stdexcept>

namespace ratelimit::http_client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

Endpoint Endpoint::parse(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest(url);
  if (rest.starts_with("https://"))
    throw std::invalid_argument("'" + url + "': https is not supported");
  if (rest.starts_with(kScheme)) rest.remove_prefix(kScheme.size());
  rest = rest.substr(0, rest.find('/'));
  Endpoint e;
  std::string_view port_text;
  if (rest.starts_with("[")) {  // [v6]:port
    const auto close = rest.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("'" + url + "': unclosed '['");
    e.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (rest.starts_with(":")) port_text = rest.substr(1);
  } else {
    const auto colon = rest.rfind(':');
    e.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (e.host.empty())
    throw std::invalid_argument("'" + url + "': no host (expected http://HOST:PORT)");
  if (!port_text.empty()) {
    unsigned long port = 0;
    for (const char c : port_text) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || port > 65535) {
        throw std::invalid_argument("'" + url + "': bad port");
      }
      port = port * 10 + static_cast<unsigned long>(c - '0');
    }
    if (port == 0 || port > 65535) throw std::invalid_argument("'" + url + "': bad port");
    e.port = static_cast<unsigned short>(port);
  }
  return e;
}

Response request(const Endpoint& server, const std::string& method, const std::string& target,
                 const std::string& body, const std::map<std::string, std::string>& headers,
                 std::chrono::milliseconds timeout) {
  const std::string where = server.host + ":" + std::to_string(server.port);
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(server.host, std::to_string(server.port)));
    http::request<http::string_body> req(http::string_to_verb(method), target, 11);
    req.set(http::field::host, server.host);
    req.set(http::field::user_agent, "ratelimit-cli");
    for (const auto& [n, v] : headers) req.set(n, v);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(stream, buffer, parser);
    const auto& res = parser.get();
    Response out;
    out.status = res.result_int();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    out.body = res.body();
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    return out;
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot talk to ratelimitd at " + where + ": " + e.code().message());
  }
}

}  // namespace ratelimit::http_client
