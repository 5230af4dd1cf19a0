#include "http_server.hpp"

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <array>
#include <exception>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "deadline.hpp"
#include "problem.hpp"
#include "reply_head.hpp"

namespace ratelimitd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class Session;

// One event loop: its io_context, its acceptor and its connections. Only its
// own thread touches `sessions` and `stopping`.
struct Loop {
  // What a Session's destructor touches comes before `io`, so it outlives the
  // handlers (and their sessions) that the io_context destroys last.
  std::unordered_set<Session*> sessions;
  bool stopping = false;
  std::optional<asio::steady_timer> drain_timer;  // reset before `io` goes (~Loop)

  // One thread runs this loop, and every socket operation on it (also the
  // stop, posted to it) happens on that thread: Asio's per-socket locks
  // (a mutex pair per operation) are not needed. Posting from other threads
  // stays safe (the scheduler keeps its lock). TSan runs the service tests.
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::optional<tcp::acceptor> acceptor;
  // Other listeners' stop actions (HttpServer::attach).
  std::vector<std::function<void()>> on_stop;
  // Closes connections past their deadline every kWatchdogTick (deadline.hpp).
  std::optional<asio::steady_timer> watchdog;
  // Requests whose handler handed back a BatchJob, waiting for the batch
  // that run_batches runs once the loop's ready handlers have run, so the
  // requests read in one turn share it. The batch runs on the loop's own
  // thread: handing it to a worker thread measured slower (a thread switch
  // each way per batch costs more than the loop's wait for the store).
  using Pending = std::vector<std::pair<std::shared_ptr<Session>, std::shared_ptr<BatchJob>>>;
  Pending pending;
  bool batch_posted = false;

  Loop() = default;
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  ~Loop() {
    pending.clear();
    drain_timer.reset();
  }
};

// Runs the loop's pending jobs, one BatchRunner::run per runner, and sends
// their replies.
void run_batches(Loop& loop);

struct Shared {
  ServerLimits limits;
  Handler handler;
};

// Moves the body out of `req` (the parser is replaced before the next request).
HttpRequest to_request(http::request<http::string_body>& req, const std::string& peer) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  out.headers.reserve(static_cast<std::size_t>(std::distance(req.begin(), req.end())));
  for (const auto& field : req)
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = std::move(req.body());
  out.peer = peer;
  return out;
}

// The socket's peer address ("" when it has none any more), read once per
// connection: not a system call per request.
std::string peer_of(const tcp::socket& socket) {
  beast::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  return ec ? std::string() : peer.address().to_string();
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Loop& loop, const Shared& shared)
      : stream_(std::move(socket)), peer_(peer_of(stream_.socket)), loop_(loop), shared_(shared) {
    loop_.sessions.insert(this);
  }
  ~Session() {
    loop_.sessions.erase(this);
    if (loop_.stopping && loop_.sessions.empty() && loop_.drain_timer) loop_.drain_timer->cancel();
  }

  void start() { read_header(); }

  // Graceful stop: a connection waiting for its next request is closed now;
  // one with a request in progress finishes it (and then closes).
  void close_if_idle() {
    if (idle_ || streaming_) close();  // a stream has no end to wait for
  }

  // The watchdog's visit: closes the connection once its deadline passed.
  void check_deadline(SteadyTime now) { stream_.check(now); }

 private:
  void read_header() {
    if (loop_.stopping) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_.limits.header_limit));
    parser_->body_limit(shared_.limits.body_limit);
    idle_ = true;
    stream_.expire_after(shared_.limits.header_timeout);
    http::async_read_header(
        stream_.socket, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    stream_.expire_never();
    idle_ = false;
    if (ec) return on_read_error(ec);
    stream_.expire_after(shared_.limits.body_timeout);
    http::async_read(
        stream_.socket, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_body(e); });
  }

  void on_body(beast::error_code ec) {
    stream_.expire_never();
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    HttpReply reply;
    try {
      reply = shared_.handler(to_request(req, peer_));
    } catch (const std::exception& e) {
      reply = problem(500, std::string("internal error: ") + e.what());
    }
    if (reply.stream) return start_stream(std::move(reply), req.version());
    if (reply.job) return wait_for_batch(std::move(reply.job));
    write(std::move(reply), req.keep_alive() && !loop_.stopping, req.version());
  }

 public:
  // The batch of this connection's job has run: sends the job's reply.
  void send_batch_reply(HttpReply reply) {
    const auto& req = parser_->get();
    write(std::move(reply), req.keep_alive() && !loop_.stopping, req.version());
  }

 private:
  // Queues the job for the loop's next batch: posted, the batch runs after
  // every handler that is ready now, so requests that arrived together share it.
  void wait_for_batch(std::shared_ptr<BatchJob> job) {
    loop_.pending.emplace_back(shared_from_this(), std::move(job));
    if (loop_.batch_posted) return;
    loop_.batch_posted = true;
    asio::post(loop_.io, [&loop = loop_] { run_batches(loop); });
  }

  // A long-lived reply (HttpReply::stream): the header without a length,
  // the first chunk, then one more each interval until the client goes away
  // (a write fails) or the server stops (close_if_idle).
  void start_stream(HttpReply reply, unsigned version) {
    streaming_ = true;
    producer_ = std::move(reply.stream);
    interval_ = reply.stream_interval;
    tick_.emplace(stream_.socket.get_executor());
    std::string head;
    append_reply_head(head, reply, version);
    head += "Cache-Control: no-cache\r\nConnection: close\r\n\r\n";
    head += reply.body;
    try {
      head += producer_();  // the first event at once, not an interval later
    } catch (const std::exception&) {
      return close();
    }
    send_chunk(std::move(head));
  }

  void send_chunk(std::string chunk) {
    if (loop_.stopping) return close();
    stream_out_ = std::move(chunk);
    stream_.expire_after(shared_.limits.body_timeout);
    asio::async_write(stream_.socket, asio::buffer(stream_out_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->on_chunk_written(ec);
                      });
  }

  void on_chunk_written(beast::error_code ec) {
    stream_.expire_never();
    if (ec || loop_.stopping) return close();  // the client left, or a stop
    tick_->expires_after(interval_);
    tick_->async_wait([self = shared_from_this()](beast::error_code e) { self->on_tick(e); });
  }

  void on_tick(beast::error_code ec) {
    if (ec || loop_.stopping) return close();  // cancelled by close()
    std::string next;
    try {
      next = producer_();
    } catch (const std::exception&) {
      return close();
    }
    send_chunk(std::move(next));
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return write(
          problem(413,
                  "the body is larger than " + std::to_string(shared_.limits.body_limit) + " bytes",
                  "body"),
          false, 11);
    }
    if (ec == http::error::header_limit) {
      return write(problem(431, "the request line and headers are larger than " +
                                    std::to_string(shared_.limits.header_limit) + " bytes"),
                   false, 11);
    }
    const bool protocol_error =
        ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message;
    if (protocol_error)
      return write(problem(400, "malformed HTTP request: " + ec.message()), false, 11);
    close();  // end of stream, timeout, reset, or a stop
  }

  void write(HttpReply reply, bool keep_alive, unsigned version) {
    render_reply_head(out_head_, reply, {}, version, keep_alive);
    out_body_ = std::move(reply.body);
    // A reply to HEAD has the GET reply's headers, length included, and no
    // body (RFC 9110 9.3.2): a body would be read as the next response.
    if (parser_ && parser_->get().method() == http::verb::head) out_body_.clear();
    stream_.expire_after(shared_.limits.body_timeout);
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(out_head_), asio::buffer(out_body_)};
    asio::async_write(stream_.socket, buffers,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        self->stream_.expire_never();
                        if (ec || !keep_alive) return self->close();
                        self->read_header();
                      });
  }

  void close() {
    if (tick_) tick_->cancel();
    stream_.close();
  }

  TimedSocket stream_;
  const std::string peer_;
  beast::flat_buffer buffer_;
  Loop& loop_;
  const Shared& shared_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // The response being written: its head (reused: no allocation once it has
  // grown) and its body.
  std::string out_head_;
  std::string out_body_;
  bool idle_ = false;
  // A streaming reply's state (start_stream).
  bool streaming_ = false;
  std::function<std::string()> producer_;
  std::chrono::milliseconds interval_{1000};
  std::optional<asio::steady_timer> tick_;
  std::string stream_out_;
};

void run_batches(Loop& loop) {
  loop.batch_posted = false;
  const Loop::Pending pending = std::move(loop.pending);
  loop.pending.clear();
  std::vector<BatchRunner*> runners;
  for (const auto& [session, job] : pending) {
    if (std::find(runners.begin(), runners.end(), job->runner) == runners.end()) runners.push_back(job->runner);
  }
  std::vector<BatchJob*> jobs;
  for (BatchRunner* runner : runners) {
    jobs.clear();
    for (const auto& [session, job] : pending) {
      if (job->runner == runner) jobs.push_back(job.get());
    }
    try {
      if (runner == nullptr) throw std::logic_error("a batch job without a runner");
      runner->run(jobs);
    } catch (const std::exception& e) {
      for (BatchJob* job : jobs) job->reply = problem(500, std::string("internal error: ") + e.what());
    }
  }
  for (const auto& [session, job] : pending) session->send_batch_reply(std::move(job->reply));
}

// Every kWatchdogTick: closes the connections whose deadline has passed
// (one timer per loop instead of one armed around every read and write).
// Ends once the loop is stopping and has no connections left.
void watch(Loop& loop) {
  loop.watchdog->expires_after(kWatchdogTick);
  loop.watchdog->async_wait([&loop](beast::error_code ec) {
    if (ec || (loop.stopping && loop.sessions.empty())) return;
    const SteadyTime now = std::chrono::steady_clock::now();
    // Copy: a check may end a session, which erases it from the set.
    const std::vector<Session*> sessions(loop.sessions.begin(), loop.sessions.end());
    for (Session* s : sessions) s->check_deadline(now);
    watch(loop);
  });
}

void accept(Loop& loop, const Shared& shared) {
  loop.acceptor->async_accept(loop.io, [&loop, &shared](beast::error_code ec, tcp::socket socket) {
    if (!loop.acceptor->is_open()) return;
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), loop, shared)->start();
    }
    accept(loop, shared);  // also after an error (e.g. too many open files): keep serving
  });
}

tcp::acceptor listen_on(asio::io_context& io, const tcp::endpoint& endpoint) {
  tcp::acceptor acceptor(io);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  const int one = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    throw std::runtime_error("cannot set SO_REUSEPORT");
  }
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

}  // namespace

struct HttpServer::Impl {
  Shared shared;
  std::vector<std::unique_ptr<Loop>> loops;
  std::uint16_t port = 0;
  std::atomic<bool> stop_requested{false};
};

HttpServer::HttpServer(const std::string& host, std::uint16_t port, unsigned threads,
                       ServerLimits limits, Handler handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->shared = Shared{limits, std::move(handler)};
  if (threads == 0) threads = 1;
  beast::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("cannot listen on '" + host + "': not an IP address");
  tcp::endpoint endpoint(address, port);
  for (unsigned i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Loop>();
    try {
      loop->acceptor.emplace(listen_on(loop->io, endpoint));
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(endpoint.port()) +
                               ": " + e.what());
    }
    // Port 0 picks a free port once; the other loops share it.
    endpoint.port(loop->acceptor->local_endpoint().port());
    impl_->loops.push_back(std::move(loop));
  }
  impl_->port = endpoint.port();
  for (auto& loop : impl_->loops) {
    accept(*loop, impl_->shared);
    loop->watchdog.emplace(loop->io);
    watch(*loop);
  }
}

HttpServer::~HttpServer() = default;

void HttpServer::attach(const LoopAttachment& on_loop) {
  for (auto& loop : impl_->loops) loop->on_stop.push_back(on_loop(loop->io));
}

std::uint16_t HttpServer::port() const noexcept { return impl_->port; }

void HttpServer::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl_->loops.size(); ++i) {
    threads.emplace_back([loop = impl_->loops[i].get()] { loop->io.run(); });
  }
  impl_->loops[0]->io.run();
  for (auto& t : threads) t.join();
}

void HttpServer::stop() {
  if (impl_->stop_requested.exchange(true)) return;
  for (auto& owned : impl_->loops) {
    Loop* loop = owned.get();
    const auto drain = impl_->shared.limits.drain_timeout;
    asio::post(loop->io, [loop, drain] {
      loop->stopping = true;
      beast::error_code ignored;
      loop->acceptor->close(ignored);
      for (auto& stop_other : loop->on_stop) stop_other();
      // Copy: closing a session may end it, which erases it from the set.
      const std::vector<Session*> sessions(loop->sessions.begin(), loop->sessions.end());
      for (Session* s : sessions) s->close_if_idle();
      if (loop->sessions.empty()) return;
      loop->drain_timer.emplace(loop->io, drain);
      loop->drain_timer->async_wait([loop](beast::error_code ec) {
        if (!ec) loop->io.stop();  // requests still running after the drain time: cut them
      });
    });
  }
}

}  // namespace ratelimitd
