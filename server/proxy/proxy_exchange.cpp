// One client connection of proxy mode: read a request's head, decide, then
// answer locally (429, 503, 4xx/5xx) or relay the request to the upstream and
// its response back, bodies streamed chunk by chunk in both directions.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>
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
  for (const auto field :
       {http::field::connection, http::field::keep_alive, http::field::proxy_connection,
        http::field::te, http::field::trailer, http::field::upgrade, http::field::expect}) {
    fields.erase(field);
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

// Writes a reply the proxy made itself; returns whether the connection
// stays open. `reply` is the caller's named object, never a temporary: GCC
// 12 miscompiles a non-trivial by-value argument of a coroutine built in a
// co_await expression (at -O3 the proxy freed an invalid pointer under load
// once HttpReply gained a shared_ptr member).
asio::awaitable<bool> answer(ClientConnection& client, beast::flat_buffer& buffer,
                             RequestParser& parser, HttpReply& reply, bool keep_alive,
                             const ServerLimits& limits) {
  // A client waiting for "100 Continue" will not send its body now: close
  // after the reply rather than wait for it.
  const bool awaiting_continue =
      !parser.is_done() && beast::iequals(parser.get()[http::field::expect], "100-continue");
  keep_alive = keep_alive && !awaiting_continue &&
               co_await drain_body(client, buffer, parser, limits);
  http::response<http::string_body> res{static_cast<http::status>(reply.status),
                                        parser.get().version()};
  res.set(http::field::server, "ratelimitd");
  res.set(http::field::content_type, reply.content_type);
  for (auto& [name, value] : reply.headers) res.insert(name, value);
  res.body() = std::move(reply.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  client.stream.expire_after(limits.body_timeout);
  auto [ec, n] = co_await http::async_write(client.stream.socket, res, kNoThrow);
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

// Sends a response whose body is all in `buffer` (whole_response_buffered)
// in one write: the head rendered by hand, `client.added` replacing the
// upstream's headers of the same names, then the body. Beast's serializer
// and a field allocation per added header cost more than the rest of the
// exchange's user-space work together (measured).
asio::awaitable<RelayResult> send_buffered_response(ClientConnection& client, UpstreamConnection& up,
                                                    ResponseParser& parser,
                                                    std::chrono::milliseconds timeout) {
  auto& res = parser.get();
  auto& body = res.body();
  body.data = client.chunk.data();
  body.size = client.chunk.size();
  parser.eager(true);
  beast::error_code ec;
  while (!ec && !parser.is_done() && up.buffer.size() > 0) up.buffer.consume(parser.put(up.buffer.data(), ec));
  if (ec || !parser.is_done()) {
    co_return RelayResult{ec ? ec : beast::error_code(http::error::partial_message), Side::from};
  }
  const std::size_t body_size = client.chunk.size() - body.size;
  std::string& head = client.head;
  head.clear();
  head += res.version() == 10 ? "HTTP/1.0 "sv : "HTTP/1.1 "sv;
  head += std::to_string(res.result_int());
  head += ' ';
  head += res.reason();
  head += "\r\n"sv;
  for (const auto& field : res) {
    if (client.added.has(field.name_string())) continue;
    head += field.name_string();
    head += ": "sv;
    head += field.value();
    head += "\r\n"sv;
  }
  head += client.added.lines();
  head += "\r\n"sv;
  const std::array<asio::const_buffer, 2> out{asio::buffer(head), asio::buffer(client.chunk.data(), body_size)};
  client.stream.expire_after(timeout);
  auto [wec, n] = co_await asio::async_write(client.stream.socket, out, kNoThrow);
  client.stream.expire_never();
  if (wec) co_return RelayResult{wec, Side::to};
  co_return RelayResult{};
}

// Sends a request without a body (the parser is done: GET, HEAD, ...) in
// one write with a hand-rendered head, as send_buffered_response does for
// responses. `head` is scratch space.
asio::awaitable<RelayResult> send_bodyless_request(TimedSocket& to, const ProxyRequest& req,
                                                   std::string& head, std::chrono::milliseconds timeout) {
  head.clear();
  head += req.method_string();
  head += ' ';
  head += req.target();
  head += req.version() == 10 ? " HTTP/1.0\r\n"sv : " HTTP/1.1\r\n"sv;
  for (const auto& field : req) {
    head += field.name_string();
    head += ": "sv;
    head += field.value();
    head += "\r\n"sv;
  }
  head += "\r\n"sv;
  to.expire_after(timeout);
  auto [ec, n] = co_await asio::async_write(to.socket, asio::buffer(head), kNoThrow);
  to.expire_never();
  if (ec) co_return RelayResult{ec, Side::to};
  co_return RelayResult{};
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
  chain += chain.empty() ? client.peer : ", " + client.peer;
  req.set("X-Forwarded-For", chain);
  if (req.find(http::field::host) == req.end()) req.set(http::field::host, shared.upstream_host_header);
  req.version(11);
  req.keep_alive(true);
}

// Streams a request with a body to the upstream (relay_body with its own
// serializer: serializers are large, and frames over 1020 bytes are not
// recycled by Asio).
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
// too) and answers 504 for a timeout, else 502. Its own coroutine so that
// forward's frame stays small enough for Asio to recycle.
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
  co_return co_await answer(client, buffer, parser, failure, keep_alive, shared.options.limits);
}

// Sends the admitted request upstream and relays the response back with
// `client.added` added. Answers 502/504 itself when the upstream fails
// before its response starts.
asio::awaitable<bool> forward(ClientConnection& client, beast::flat_buffer& buffer,
                              RequestParser& parser, ProxyLoop& loop, ProxyServer::Shared& shared,
                              bool keep_alive) {
  const ProxyOptions& o = shared.options;
  auto& req = parser.get();
  const bool expects_continue = beast::iequals(req[http::field::expect], "100-continue");
  const bool head = req.method() == http::verb::head;
  const bool bodyless = parser.is_done();
  prepare_forward(req, client, shared);
  shared.forwarded.fetch_add(1, std::memory_order_relaxed);

  // A client waiting for "100 Continue" gets it from us, now that the
  // request is admitted (the Expect header is not forwarded).
  if (expects_continue && !bodyless &&
      !co_await send_continue(client, req.version(), o.limits.body_timeout)) {
    shared.breaker.release();
    co_return false;
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

  // A reused connection may have been closed by the upstream while idle:
  // a bodyless request is then retried once on a fresh connection.
  for (int attempt = 0;; ++attempt) {
    const bool reused = up != nullptr;
    if (!up) {
      up = std::make_unique<UpstreamConnection>(loop.io);
      client.upstream = up.get();
      up->stream.expire_after(o.connect_timeout);
      auto [ec, endpoint] = co_await asio::async_connect(up->stream.socket,
                                                         shared.upstream_endpoints, kNoThrow);
      up->stream.expire_never();
      if (ec) {
        co_return co_await answer_upstream_failure(client, buffer, parser, shared, ec,
                                                   up->stream.timed_out, started, keep_alive);
      }
      beast::error_code ignored;
      up->stream.socket.set_option(tcp::no_delay(true), ignored);
    }
    client.upstream = up.get();
    // (if/else, not ?:, around co_await: GCC 12 has mishandled co_await in a
    // conditional expression.)
    RelayResult sent;
    if (bodyless) {
      sent = co_await send_bodyless_request(up->stream, req, client.head, o.upstream_timeout);
    } else {
      sent = co_await send_request_with_body(client, buffer, parser, *up, o.upstream_timeout);
    }
    if (sent.ec && sent.failed == Side::from) {  // the client went away mid-body
      shared.breaker.release();
      co_return false;
    }
    beast::error_code ec = sent.ec;
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
    if (!ec) break;
    const bool timed_out = up->stream.timed_out;
    if (reused && bodyless && attempt == 0 && !timed_out) {
      client.upstream = nullptr;
      up.reset();  // a stale keep-alive connection: try a fresh one
      continue;
    }
    co_return co_await answer_upstream_failure(client, buffer, parser, shared, ec, timed_out, started,
                                               keep_alive);
  }

  ResponseParser& response = *client.response;
  auto& res = response.get();
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  if (is_failure_status(res.result_int(), o.failure_statuses)) {
    shared.upstream_failures.fetch_add(1, std::memory_order_relaxed);
    shared.breaker.on_failure(took.count());
  } else {
    shared.breaker.on_success(took.count());
  }
  bool upstream_reusable = res.keep_alive();
  // A body that ends when the upstream closes: re-framed as chunks for an
  // HTTP/1.1 client, else the client connection closes after it too.
  const bool until_close = !response.is_done() && !response.chunked() && !response.content_length();
  if (until_close) {
    upstream_reusable = false;
    if (req.version() >= 11) {
      res.chunked(true);
    } else {
      keep_alive = false;
    }
  }
  drop_hop_by_hop(res);
  res.version(req.version());
  res.keep_alive(keep_alive);

  RelayResult relayed;
  if (!until_close && whole_response_buffered(response, up->buffer, client.chunk)) {
    relayed = co_await send_buffered_response(client, *up, response, o.upstream_timeout);
  } else {
    relayed = co_await stream_response(client, *up, response, o.upstream_timeout);
  }
  if (relayed.ec) {
    // Too late for an error reply: the client has the head already.
    if (relayed.failed == Side::from) shared.upstream_errors.fetch_add(1, std::memory_order_relaxed);
    co_return false;
  }
  client.upstream = nullptr;
  if (upstream_reusable) loop.pool.give_back(std::move(up));
  co_return keep_alive;
}

// Decides a request through the policy, filling `client.added` with the
// headers its response gets; returns the reply to send instead of
// forwarding (429, 403, 400, 503), if any. Not a coroutine:
// its locals (the decision, the request's attributes) stay on the stack
// instead of making exchange's frame too large for Asio to recycle.
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
      const std::string scope = d.denylisted ? "denylist" : d.scope;
      const auto body = ratelimit::http::denial_body(o.error_format, d.decision, scope);
      HttpReply& reply = refusal.emplace();
      reply.status = d.denylisted ? 403 : 429;
      reply.content_type = body.content_type;
      reply.body = body.body;
      reply.headers = client.added.to_vector();
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

// One request on a client connection; returns whether the connection
// serves another.
asio::awaitable<bool> exchange(ClientConnection& client, beast::flat_buffer& buffer,
                               RequestParser& parser, ProxyLoop& loop,
                               ProxyServer::Shared& shared) {
  const ProxyOptions& o = shared.options;
  auto& req = parser.get();
  const bool keep_alive = req.keep_alive() && !loop.stopping;
  client.added.clear();

  // The breaker first: a request the upstream cannot serve now is not
  // charged to the caller's limits.
  if (!shared.breaker.try_acquire()) {
    shared.breaker_rejected.fetch_add(1, std::memory_order_relaxed);
    HttpReply unavailable = upstream_unavailable(shared.breaker.retry_after());
    co_return co_await answer(client, buffer, parser, unavailable, keep_alive, o.limits);
  }
  const std::string_view path = path_of(req.target());
  if (is_bypassed(path, o.bypass)) {
    shared.bypassed.fetch_add(1, std::memory_order_relaxed);
    co_return co_await forward(client, buffer, parser, loop, shared, keep_alive);
  }
  if (std::optional<HttpReply> refusal = judge(req, path, client, shared)) {
    shared.breaker.release();
    co_return co_await answer(client, buffer, parser, *refusal, keep_alive, o.limits);
  }
  co_return co_await forward(client, buffer, parser, loop, shared, keep_alive);
}

}  // namespace

asio::awaitable<void> serve_client(std::shared_ptr<ClientConnection> client, ProxyLoop& loop,
                                   std::shared_ptr<ProxyServer::Shared> shared) {
  loop.clients.insert(client.get());
  const ServerLimits& limits = shared->options.limits;
  beast::flat_buffer buffer;
  while (!loop.stopping) {
    client->arena.reset();  // the last exchange's parsers are gone
    RequestParser parser(std::piecewise_construct, std::make_tuple(),
                         std::make_tuple(ArenaAllocator<char>(&client->arena)));
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // streamed
    client->idle = true;
    client->stream.expire_after(limits.header_timeout);
    auto [ec, n] = co_await http::async_read_header(client->stream.socket, buffer, parser, kNoThrow);
    client->stream.expire_never();
    client->idle = false;
    if (ec) {
      if (ec == http::error::header_limit) {
        HttpReply too_large = problem(431, "the request line and headers are larger than " +
                                               std::to_string(limits.header_limit) + " bytes");
        (void)co_await answer(*client, buffer, parser, too_large, false, limits);
      } else if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
                 ec != http::error::end_of_stream && ec != http::error::partial_message) {
        HttpReply malformed = problem(400, "malformed HTTP request: " + ec.message());
        (void)co_await answer(*client, buffer, parser, malformed, false, limits);
      }
      break;
    }
    // An exception escaping a detached coroutine would end the event loop
    // (and the process): whatever goes wrong in one exchange ends only its
    // connection.
    bool more = false;
    try {
      more = co_await exchange(*client, buffer, parser, loop, *shared);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ratelimitd proxy: connection from %s closed: %s\n",
                   client->peer.c_str(), e.what());
    }
    if (!more) break;
  }
  client->stream.close();
  loop.clients.erase(client.get());
}

}  // namespace ratelimitd::proxy
