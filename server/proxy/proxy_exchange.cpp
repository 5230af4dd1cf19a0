// One client connection of proxy mode: read a request's head, decide, then
// answer locally (429, 503, 4xx/5xx) or relay the request to the upstream and
// its response back, bodies streamed chunk by chunk in both directions.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <limits>
#include <span>
#include <tuple>

#include "decide_api.hpp"
#include "problem.hpp"
#include "proxy/head_render.hpp"
#include "reply_head.hpp"
#include "proxy/proxy_shared.hpp"
#include "ratelimit/store.hpp"

namespace ratelimitd::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::string_view_literals;

namespace {

// Deferred, not use_awaitable: co_await on a deferred operation keeps its
// result in the caller's frame, where use_awaitable makes a coroutine frame
// per operation (measured: four frame allocations per proxied request).
constexpr auto kNoThrow = asio::as_tuple(asio::deferred);
// Request bodies up to this size are read and dropped when the proxy answers
// itself (so the connection can serve the next request); larger ones close it.
constexpr std::uint64_t kMaxDrainBytes = 1 << 20;

// Hop-by-hop headers (RFC 9110 7.6.1): they describe one connection, so a
// proxy must not pass them on. Transfer-Encoding is left to Beast, which
// re-frames the body for the next hop.
void drop_hop_by_hop(ProxyFields& fields) {
  // One pass over the few fields a message has, not a lookup per name.
  for (auto it = fields.begin(); it != fields.end();) {
    switch (it->name()) {
      case http::field::connection:
      case http::field::keep_alive:
      case http::field::proxy_connection:
      case http::field::te:
      case http::field::trailer:
      case http::field::upgrade:
      case http::field::expect:
        it = fields.erase(it);
        break;
      default:
        ++it;
    }
  }
}

// Reads and drops what is left of a request's body; false when that is not
// worth it (too large, unknown length) or failed: the connection must close.
asio::awaitable<bool> drain_body(ClientConnection& client, beast::flat_buffer& buffer,
                                 RequestParser& parser, const ServerLimits& limits) {
  if (parser.is_done()) co_return true;
  const auto length = parser.content_length();
  if (!length || *length > kMaxDrainBytes) co_return false;
  while (!parser.is_done()) {
    parser.get().body().data = client.chunk.data();
    parser.get().body().size = client.chunk.size();
    client.stream.expire_after(limits.body_timeout);
    auto [ec, n] = co_await http::async_read(client.stream.socket, buffer, parser, kNoThrow);
    client.stream.expire_never();
    if (ec && ec != http::error::need_buffer) co_return false;
  }
  co_return true;
}

// Writes a reply the proxy made itself, `extra_lines` added to its
// headers (reply_head.hpp); returns whether the connection stays open.
// `reply` is the caller's named object, never a temporary: GCC 12
// miscompiles a non-trivial by-value argument of a coroutine built in a
// co_await expression (at -O3 the proxy freed an invalid pointer under load
// once HttpReply gained a shared_ptr member).
asio::awaitable<bool> answer(ClientConnection& client, beast::flat_buffer& buffer,
                             RequestParser& parser, const HttpReply& reply,
                             std::string_view extra_lines, bool keep_alive,
                             const ServerLimits& limits) {
  if (!parser.is_done()) {
    // A client waiting for "100 Continue" will not send its body now:
    // close after the reply rather than wait for it.
    const bool awaiting_continue = beast::iequals(parser.get()[http::field::expect], "100-continue");
    keep_alive = keep_alive && !awaiting_continue && co_await drain_body(client, buffer, parser, limits);
  }
  const auto& req = parser.get();
  render_reply_head(client.head, reply, extra_lines, req.version(), keep_alive);
  // A response to HEAD has the headers of the GET response and no body.
  const std::size_t body_size = req.method() == http::verb::head ? 0 : reply.body.size();
  const std::array<asio::const_buffer, 2> out{asio::buffer(client.head),
                                              asio::buffer(reply.body.data(), body_size)};
  client.stream.expire_after(limits.body_timeout);
  auto [ec, n] = co_await asio::async_write(client.stream.socket, out, kNoThrow);
  client.stream.expire_never();
  co_return !ec && keep_alive;
}

enum class Side : std::uint8_t { none, from, to };
struct RelayResult {
  beast::error_code ec;
  Side failed = Side::none;  // which stream the error came from
};

// Writes a message whose head `parser` has read from `from` to `to`
// (serialized by `serializer`), streaming its body chunk by chunk (the Beast
// relay pattern) so bodies of any size pass through in bounded memory. The
// head goes out with the first chunk, in one write, when that chunk has
// arrived already (a small message costs one send, not two); otherwise the
// head goes first, so a slow stream (say, server-sent events) shows its head
// at once.
template <bool isRequest>
asio::awaitable<RelayResult> relay_body(TimedSocket& from, beast::flat_buffer& from_buffer,
                                        http::parser<isRequest, http::buffer_body, ArenaAllocator<char>>& parser,
                                        TimedSocket& to,
                                        http::serializer<isRequest, http::buffer_body, ProxyFields>& serializer,
                                        std::span<char> chunk, std::chrono::milliseconds timeout) {
  auto& body = parser.get().body();
  if (!parser.is_done() && from_buffer.size() == 0) {
    to.expire_after(timeout);
    auto [ec, n] = co_await http::async_write_header(to.socket, serializer, kNoThrow);
    to.expire_never();
    if (ec) co_return RelayResult{ec, Side::to};
  }
  do {
    if (!parser.is_done()) {
      body.data = chunk.data();
      body.size = chunk.size();
      from.expire_after(timeout);
      auto [ec, n] = co_await http::async_read(from.socket, from_buffer, parser, kNoThrow);
      from.expire_never();
      if (ec == http::error::need_buffer) ec = {};
      if (ec) co_return RelayResult{ec, Side::from};
      body.size = chunk.size() - body.size;
      body.data = chunk.data();
      body.more = !parser.is_done();
    } else {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
    }
    to.expire_after(timeout);
    auto [ec, n] = co_await http::async_write(to.socket, serializer, kNoThrow);
    to.expire_never();
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return RelayResult{ec, Side::to};
  } while (!parser.is_done() || !serializer.is_done());
  co_return RelayResult{};
}

// True when the rest of the response is in `buffer` already and fits
// `chunk`: a bodyless response (HEAD, 204, 304), or a Content-Length body
// that has arrived whole (the common small API response).
bool whole_response_buffered(const ResponseParser& parser, const beast::flat_buffer& buffer,
                             std::span<const char> chunk) {
  if (parser.is_done()) return true;
  if (parser.chunked()) return false;
  const auto length = parser.content_length();
  return length && *length <= buffer.size() && *length <= chunk.size();
}

// Parses the rest of a response whose body is all in `up.buffer`
// (whole_response_buffered) into `client.chunk`; its size, or the error.
std::size_t take_buffered_body(ClientConnection& client, UpstreamConnection& up, ResponseParser& parser,
                               beast::error_code& ec) {
  auto& body = parser.get().body();
  body.data = client.chunk.data();
  body.size = client.chunk.size();
  parser.eager(true);
  while (!ec && !parser.is_done() && up.buffer.size() > 0) up.buffer.consume(parser.put(up.buffer.data(), ec));
  if (!ec && !parser.is_done()) ec = http::error::partial_message;
  return client.chunk.size() - body.size;
}

bool is_failure_status(unsigned status, const std::vector<int>& failures) {
  return std::find(failures.begin(), failures.end(), static_cast<int>(status)) != failures.end();
}

HttpReply upstream_unavailable(ratelimit::Micros retry_after) {
  HttpReply reply = problem(503, "the upstream is failing; the proxy's circuit breaker is open");
  const auto seconds = std::max<std::int64_t>(1, ratelimit::http::seconds_rounded_up(retry_after));
  reply.headers.emplace_back("Retry-After", std::to_string(seconds));
  return reply;
}

// The request as the upstream gets it: hop-by-hop headers dropped,
// X-Forwarded-For extended (or, from an untrusted peer, replaced: its chain
// could be forged), keep-alive to the upstream.
void prepare_forward(ProxyRequest& req, const ClientConnection& client,
                     const ProxyServer::Shared& shared) {
  drop_hop_by_hop(req);
  const bool trusted = is_trusted(client.peer, shared.options.identity.trusted_proxies);
  std::string chain;
  if (trusted) {
    for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it) {
      if (!chain.empty()) chain += ", ";
      chain += it->value();
    }
  }
  if (!chain.empty()) chain += ", ";
  chain += client.peer;
  req.set("X-Forwarded-For", chain);
  if (req.find(http::field::host) == req.end()) req.set(http::field::host, shared.upstream_host_header);
  req.version(11);
  req.keep_alive(true);
}

// The response as the client gets it; returns whether the upstream
// connection can serve another request.
bool prepare_response(ProxyResponse& res, const ResponseParser& parser, unsigned client_version,
                      bool& keep_alive) {
  bool upstream_reusable = res.keep_alive();
  // A body that ends when the upstream closes: re-framed as chunks for an
  // HTTP/1.1 client, else the client connection closes after it too.
  if (!parser.is_done() && !parser.chunked() && !parser.content_length()) {
    upstream_reusable = false;
    if (client_version >= 11) {
      res.chunked(true);
    } else {
      keep_alive = false;
    }
  }
  drop_hop_by_hop(res);
  res.version(client_version);
  res.keep_alive(keep_alive);
  return upstream_reusable;
}

// Counts the upstream's answer for the breaker (and the metrics).
void settle_breaker(ProxyServer::Shared& shared, unsigned status,
                    std::chrono::steady_clock::time_point started) {
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  if (is_failure_status(status, shared.options.failure_statuses)) {
    shared.upstream_failures.fetch_add(1, std::memory_order_relaxed);
    shared.breaker.on_failure(took.count());
  } else {
    shared.breaker.on_success(took.count());
  }
}

// Opens a new connection to the upstream into `up` (the client's, so the
// watchdog sees it); the error when that fails.
asio::awaitable<beast::error_code> connect_upstream(std::unique_ptr<UpstreamConnection>& up,
                                                    ClientConnection& client, ProxyLoop& loop,
                                                    const ProxyServer::Shared& shared) {
  up = std::make_unique<UpstreamConnection>(loop.io);
  client.upstream = up.get();
  up->stream.expire_after(shared.options.connect_timeout);
  auto [ec, endpoint] = co_await asio::async_connect(up->stream.socket, shared.upstream_endpoints, kNoThrow);
  up->stream.expire_never();
  if (!ec) {
    beast::error_code ignored;
    up->stream.socket.set_option(tcp::no_delay(true), ignored);
  }
  co_return ec;
}

// Streams a request with a body to the upstream (relay_body with its own
// serializer: serializers are large).
asio::awaitable<RelayResult> send_request_with_body(ClientConnection& client, beast::flat_buffer& buffer,
                                                    RequestParser& parser, UpstreamConnection& up,
                                                    std::chrono::milliseconds timeout) {
  http::request_serializer<http::buffer_body, ProxyFields> serializer{parser.get()};
  co_return co_await relay_body(client.stream, buffer, parser, up.stream, serializer, client.chunk,
                                timeout);
}

// Streams a response whose body has not all arrived (or is chunked, or ends
// at close) to the client, with the added headers set on its head.
asio::awaitable<RelayResult> stream_response(ClientConnection& client, UpstreamConnection& up,
                                             ResponseParser& parser, std::chrono::milliseconds timeout) {
  auto& res = parser.get();
  for (std::size_t i = 0; i < client.added.size(); ++i) res.set(client.added.name(i), client.added.value(i));
  http::response_serializer<http::buffer_body, ProxyFields> out{res};
  co_return co_await relay_body(up.stream, up.buffer, parser, client.stream, out, client.chunk, timeout);
}

// Tells a client waiting for "100 Continue" to send its body.
asio::awaitable<bool> send_continue(ClientConnection& client, unsigned version,
                                    std::chrono::milliseconds timeout) {
  http::response<http::empty_body> cont{http::status::continue_, version};
  client.stream.expire_after(timeout);
  auto [ec, n] = co_await http::async_write(client.stream.socket, cont, kNoThrow);
  client.stream.expire_never();
  co_return !ec;
}

// Counts an upstream failure before its response started (for the breaker
// too) and answers 504 for a timeout, else 502.
asio::awaitable<bool> answer_upstream_failure(ClientConnection& client, beast::flat_buffer& buffer,
                                              RequestParser& parser, ProxyServer::Shared& shared,
                                              const beast::error_code& ec, bool timed_out,
                                              std::chrono::steady_clock::time_point started,
                                              bool keep_alive) {
  shared.upstream_errors.fetch_add(1, std::memory_order_relaxed);
  const auto took =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  shared.breaker.on_failure(took.count());
  HttpReply failure = timed_out ? problem(504, "the upstream did not answer in time")
                                : problem(502, "the upstream failed: " + ec.message());
  co_return co_await answer(client, buffer, parser, failure, {}, keep_alive, shared.options.limits);
}

// Decides a request through the policy, filling `client.added` with the
// headers its response gets; returns the reply to send instead of
// forwarding (429, 403, 400, 503; `client.added` goes on it too), if any.
std::optional<HttpReply> judge(const ProxyRequest& req, std::string_view path,
                               ClientConnection& client, ProxyServer::Shared& shared) {
  const ProxyOptions& o = shared.options;
  const ClientIdentity id = client_identity<ProxyFields>(req, req.target(), client.peer, o.identity);
  ratelimit::policy::Request request;
  request.user = id.user;
  request.api_key = id.api_key;
  request.ip = id.ip;
  request.method = req.method_string();
  request.path = path;
  DecisionOutcome outcome;
  const auto start = std::chrono::steady_clock::now();
  std::optional<HttpReply> refusal;
  try {
    const ratelimit::policy::PolicyDecision d = shared.engine.decide(request);
    outcome = policy_outcome(d, request, shared.engine);
    write_policy_headers(d, o.header_styles, shared.clock->now(), client.added);
    if (!d.allowed) {
      shared.denied.fetch_add(1, std::memory_order_relaxed);
      auto body = ratelimit::http::denial_body(o.error_format, d.decision,
                                               d.denylisted ? "denylist" : d.scope);
      HttpReply& reply = refusal.emplace();
      reply.status = d.denylisted ? 403 : 429;
      reply.content_type = std::move(body.content_type);
      reply.body = std::move(body.body);
    }
  } catch (const ratelimit::InvalidRequest& e) {
    refusal = problem(400, e.what());
  } catch (const ratelimit::StoreUnavailable& e) {
    outcome.store_error = true;
    refusal = problem(503, std::string("the store is unavailable: ") + e.what());
  }
  if (shared.observe) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    shared.observe(outcome, took.count());
  }
  return refusal;
}

// Whether a request may go upstream: the breaker first (a request the
// upstream cannot serve now is not charged to the caller's limits), then
// the bypass paths, then the policy. Returns the reply to send instead, if
// any; an admitted request holds a breaker permit.
std::optional<HttpReply> admit(const ProxyRequest& req, ClientConnection& client,
                               ProxyServer::Shared& shared) {
  if (!shared.breaker.try_acquire()) {
    shared.breaker_rejected.fetch_add(1, std::memory_order_relaxed);
    return upstream_unavailable(shared.breaker.retry_after());
  }
  const std::string_view path = path_of(req.target());
  if (is_bypassed(path, shared.options.bypass)) {
    shared.bypassed.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  std::optional<HttpReply> refusal = judge(req, path, client, shared);
  if (refusal) shared.breaker.release();
  return refusal;
}

}  // namespace

// One coroutine per connection does every exchange on it, calling other
// coroutines only off the common path (a body to stream, a new upstream
// connection, a failure): each coroutine call allocates a frame, and four
// per request were a sixth of the proxy's user-space time (measured).
asio::awaitable<void> serve_client(std::shared_ptr<ClientConnection> client_ptr, ProxyLoop& loop,
                                   std::shared_ptr<ProxyServer::Shared> shared_ptr) {
  ClientConnection& client = *client_ptr;
  ProxyServer::Shared& shared = *shared_ptr;
  const ProxyOptions& o = shared.options;
  const ServerLimits& limits = o.limits;
  loop.clients.insert(&client);
  beast::flat_buffer buffer;
  bool more = true;
  while (more && !loop.stopping) {
    more = false;
    client.arena.reset();  // the last exchange's parsers are gone
    RequestParser parser(std::piecewise_construct, std::make_tuple(),
                         std::make_tuple(ArenaAllocator<char>(&client.arena)));
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // streamed
    client.idle = true;
    client.stream.expire_after(limits.header_timeout);
    auto [read_ec, n] = co_await http::async_read_header(client.stream.socket, buffer, parser, kNoThrow);
    client.stream.expire_never();
    client.idle = false;
    if (read_ec) {
      if (read_ec == http::error::header_limit) {
        const HttpReply too_large = problem(431, "the request line and headers are larger than " +
                                                     std::to_string(limits.header_limit) + " bytes");
        (void)co_await answer(client, buffer, parser, too_large, {}, false, limits);
      } else if (read_ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
                 read_ec != http::error::end_of_stream && read_ec != http::error::partial_message) {
        const HttpReply malformed = problem(400, "malformed HTTP request: " + read_ec.message());
        (void)co_await answer(client, buffer, parser, malformed, {}, false, limits);
      }
      break;
    }
    // An exception escaping a detached coroutine would end the event loop
    // (and the process): whatever goes wrong in one exchange ends only its
    // connection.
    try {
      ProxyRequest& req = parser.get();
      bool keep_alive = req.keep_alive() && !loop.stopping;
      client.added.clear();
      if (const std::optional<HttpReply> refusal = admit(req, client, shared)) {
        more = co_await answer(client, buffer, parser, *refusal, client.added.lines(), keep_alive, limits);
        continue;
      }

      // Admitted: forward it, and relay the response with `client.added`.
      const bool expects_continue = beast::iequals(req[http::field::expect], "100-continue");
      const bool head = req.method() == http::verb::head;
      const bool bodyless = parser.is_done();
      prepare_forward(req, client, shared);
      shared.forwarded.fetch_add(1, std::memory_order_relaxed);
      // A client waiting for "100 Continue" gets it from us, now that the
      // request is admitted (the Expect header is not forwarded).
      if (expects_continue && !bodyless &&
          !co_await send_continue(client, req.version(), limits.body_timeout)) {
        shared.breaker.release();
        continue;
      }

      std::unique_ptr<UpstreamConnection> up = loop.pool.take_idle();
      // The watchdog sees the upstream connection through the client's.
      struct InUse {
        ClientConnection& client;
        ~InUse() {
          client.upstream = nullptr;
          client.response.reset();
        }
      } in_use{client};
      const auto started = std::chrono::steady_clock::now();

      // Send the request and read the response's head. A reused connection
      // may have been closed by the upstream while idle: a bodyless
      // request is then retried once on a fresh connection.
      beast::error_code ec;
      bool client_gone = false;  // mid-body
      for (int attempt = 0;; ++attempt) {
        const bool reused = up != nullptr;
        if (!up) ec = co_await connect_upstream(up, client, loop, shared);
        if (ec) break;
        client.upstream = up.get();
        if (bodyless) {
          render_request_head(client.head, req);
          up->stream.expire_after(o.upstream_timeout);
          std::tie(ec, std::ignore) =
              co_await asio::async_write(up->stream.socket, asio::buffer(client.head), kNoThrow);
          up->stream.expire_never();
        } else {
          const RelayResult sent =
              co_await send_request_with_body(client, buffer, parser, *up, o.upstream_timeout);
          client_gone = sent.ec && sent.failed == Side::from;
          if (client_gone) break;
          ec = sent.ec;
        }
        if (!ec) {
          ResponseParser& response = client.response.emplace(
              std::piecewise_construct, std::make_tuple(), std::make_tuple(ArenaAllocator<char>(&client.arena)));
          response.body_limit(std::numeric_limits<std::uint64_t>::max());
          response.header_limit(static_cast<std::uint32_t>(o.limits.header_limit));
          if (head) response.skip(true);
          up->stream.expire_after(o.upstream_timeout);
          std::tie(ec, std::ignore) =
              co_await http::async_read_header(up->stream.socket, up->buffer, response, kNoThrow);
          up->stream.expire_never();
        }
        if (!ec || !reused || !bodyless || attempt > 0 || up->stream.timed_out) break;
        client.upstream = nullptr;
        up.reset();  // a stale keep-alive connection: try a fresh one
      }
      if (client_gone) {
        shared.breaker.release();
        continue;
      }
      if (ec) {
        more = co_await answer_upstream_failure(client, buffer, parser, shared, ec, up->stream.timed_out,
                                                started, keep_alive);
        continue;
      }

      ResponseParser& response = *client.response;
      ProxyResponse& res = response.get();
      settle_breaker(shared, res.result_int(), started);
      const bool upstream_reusable = prepare_response(res, response, req.version(), keep_alive);
      RelayResult relayed;
      if (whole_response_buffered(response, up->buffer, client.chunk)) {
        const std::size_t body_size = take_buffered_body(client, *up, response, relayed.ec);
        if (relayed.ec) {
          relayed.failed = Side::from;
        } else {
          render_response_head(client.head, res, client.added);
          const std::array<asio::const_buffer, 2> out{asio::buffer(client.head),
                                                      asio::buffer(client.chunk.data(), body_size)};
          client.stream.expire_after(o.upstream_timeout);
          std::tie(relayed.ec, std::ignore) = co_await asio::async_write(client.stream.socket, out, kNoThrow);
          client.stream.expire_never();
          relayed.failed = Side::to;
        }
      } else {
        relayed = co_await stream_response(client, *up, response, o.upstream_timeout);
      }
      if (relayed.ec) {
        // Too late for an error reply: the client has the head already
        // (or a partial response from the upstream is all there is).
        if (relayed.failed == Side::from) shared.upstream_errors.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      client.upstream = nullptr;
      if (upstream_reusable) loop.pool.give_back(std::move(up));
      more = keep_alive;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ratelimitd proxy: connection from %s closed: %s\n", client.peer.c_str(),
                   e.what());
    }
  }
  client.stream.close();
  loop.clients.erase(&client);
}

}  // namespace ratelimitd::proxy
