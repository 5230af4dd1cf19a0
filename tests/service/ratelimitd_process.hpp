#pragma once
// Starts the real ratelimitd binary on a free loopback port for a test, and
// talks HTTP/1.1 to it (Boost.Beast, synchronous). Ended by PID.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "http_client.hpp"

namespace ratelimit::testing {

using HttpResponse = http_client::Response;

/// A config file in a fresh temp dir (removed with it), for --config.
class TempConfigFile {
 public:
  explicit TempConfigFile(const std::string& yaml);
  ~TempConfigFile();
  TempConfigFile(const TempConfigFile&) = delete;
  TempConfigFile& operator=(const TempConfigFile&) = delete;
  /// Replaces the file's contents (e.g. before a reload).
  void write(const std::string& yaml) const;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

class RatelimitdProcess {
 public:
  /// Starts `binary --listen 127.0.0.1:0 args...` and waits for its
  /// "listening on" line (throws std::runtime_error after 30 s or if it exits).
  RatelimitdProcess(const std::string& binary, const std::vector<std::string>& args);
  ~RatelimitdProcess();
  RatelimitdProcess(const RatelimitdProcess&) = delete;
  RatelimitdProcess& operator=(const RatelimitdProcess&) = delete;

  [[nodiscard]] int port() const { return port_; }
  /// Proxy mode: the proxy's port, from its "proxy listening on" line
  /// (waits for it; throws std::runtime_error when it never comes).
  [[nodiscard]] int proxy_port() const;
  /// One request on a fresh connection.
  HttpResponse request(const std::string& method, const std::string& target,
                       const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {}) const;
  /// Sends `signal` (e.g. SIGHUP) without waiting.
  void send_signal(int signal) const;
  /// Sends SIGTERM and waits; returns the exit status (or 128 + signal).
  int terminate();
  /// Everything the process printed on stdout and stderr so far.
  [[nodiscard]] std::string output() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

}  // namespace ratelimit::testing
