#pragma once
// A real Prometheus server for a test: started on a free 127.0.0.1 port with
// a generated config and a private TSDB directory, queried through its HTTP
// API, ended by PID (SIGKILL + waitpid; PR_SET_PDEATHSIG kills it with the
// test's thread even when no destructor runs).

#include <sys/types.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace ratelimit::testing {

struct PrometheusOptions {
  /// host:port targets scraped every second by job "ratelimitd", each with
  /// the label role=<role>.
  struct Target {
    std::string address;
    std::string role;
  };
  std::vector<Target> targets;
  /// Rule files to load (evaluated every second).
  std::vector<std::string> rule_files;
};

class PrometheusServer {
 public:
  /// Starts `prometheus` from PATH and waits (bounded: 90 s) for /-/ready.
  /// Throws std::runtime_error naming the problem (not installed, exited,
  /// not ready in time) with the end of its log.
  explicit PrometheusServer(const PrometheusOptions& options);
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  [[nodiscard]] int port() const { return port_; }
  /// GET /api/v1/<path>?<query> (the query is URL-encoded here); returns the
  /// reply's "data". Throws std::runtime_error with Prometheus's error text
  /// when the status is not "success".
  [[nodiscard]] boost::json::value api(
      const std::string& path,
      const std::vector<std::pair<std::string, std::string>>& params = {}) const;
  /// An instant query's result vector.
  [[nodiscard]] boost::json::array query(const std::string& promql) const;
  [[nodiscard]] std::string log_tail() const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

/// The first executable `program` on PATH, or "" when there is none.
std::string find_on_path(const std::string& program);

}  // namespace ratelimit::testing
