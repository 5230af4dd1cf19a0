#pragma once
// One HTTP exchange as the service's handlers see it: no sockets, no Beast
// types, so handlers are plain functions tested without a server.

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
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

/// The path part of a request target: query and fragment dropped.
[[nodiscard]] inline std::string_view path_of(std::string_view target) {
  const auto query = target.find_first_of("?#");
  return query == std::string_view::npos ? target : target.substr(0, query);
}

struct HttpReply;

/// Work a handler hands back instead of a reply (HttpReply::job), to be done
/// together with the jobs other requests handed back at the same moment:
/// e.g. one Redis round trip for every decision that arrived in one turn of
/// the event loop. The server runs `BatchJob::runner->run(jobs)` once per
/// runner after the loop's ready requests were read, then sends each job's
/// `reply`.
struct BatchJob;
class BatchRunner {
 public:
  virtual ~BatchRunner() = default;
  /// Fills every job's `reply`; called on the loop's thread. Must not throw.
  virtual void run(std::span<BatchJob* const> jobs) = 0;
};

struct HttpReply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// A long-lived reply (Server-Sent Events) when set: the server sends the
  /// headers and `body`, then what `stream()` returns every `stream_interval`,
  /// until the client goes away or the server stops (then the connection
  /// closes: there is no Content-Length). Called on the connection's
  /// event-loop thread, so it must be thread-safe and quick.
  std::function<std::string()> stream;
  std::chrono::milliseconds stream_interval{1000};
  /// Set instead of an answer when the work waits for a batch (BatchRunner):
  /// the other fields are then ignored, and the job's `reply` is sent.
  std::shared_ptr<BatchJob> job;
};

struct BatchJob {
  virtual ~BatchJob() = default;
  /// Runs this job with the others of its runner (must outlive the server's loops).
  BatchRunner* runner = nullptr;
  /// Set by the runner.
  HttpReply reply;
};

}  // namespace ratelimitd
