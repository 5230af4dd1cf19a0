#include "prometheus_server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "http_client.hpp"

namespace ratelimit::testing {

namespace {

namespace json = boost::json;

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

PrometheusServer::PrometheusServer(const PrometheusOptions& options) {
  const std::string binary = find_on_path("prometheus");
  if (binary.empty()) {
    throw std::runtime_error(
        "prometheus not found on PATH: install the Debian package 'prometheus' "
        "(scripts/setup.sh)");
  }
  char dir_template[] = "/tmp/ratelimit-prometheus-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = dir_template;
  {
    std::ofstream config(dir_ + "/prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n";
    if (!options.rule_files.empty()) {
      config << "rule_files:\n";
      for (const auto& f : options.rule_files) config << "  - \"" << f << "\"\n";
    }
    config << "scrape_configs:\n  - job_name: ratelimitd\n    static_configs:\n";
    for (const auto& t : options.targets) {
      config << "      - targets: [\"" << t.address << "\"]\n        labels: {role: " << t.role
             << "}\n";
    }
  }
  // A free port may be taken before Prometheus binds it: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
    const std::string config = "--config.file=" + dir_ + "/prometheus.yml";
    const std::string storage = "--storage.tsdb.path=" + dir_ + "/data";
    const std::string log = dir_ + "/log";
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execl(binary.c_str(), binary.c_str(), config.c_str(), storage.c_str(), listen.c_str(),
              "--log.level=warn", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Bounded real-time wait for the server to come up (not a test of time).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;  // exited: perhaps the port was taken; try another
      }
      try {
        const auto r = http_client::request({"127.0.0.1", static_cast<unsigned short>(port_)},
                                            "GET", "/-/ready", "", {}, std::chrono::seconds(2));
        if (r.status == 200) return;
      } catch (const std::exception&) {
        // not listening yet
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
      throw std::runtime_error("prometheus was not ready within 90 s:\n" + log_tail());
    }
  }
  throw std::runtime_error("prometheus exited at start:\n" + log_tail());
}

PrometheusServer::~PrometheusServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PrometheusServer::log_tail() const {
  std::ifstream in(dir_ + "/log");
  std::stringstream s;
  s << in.rdbuf();
  const std::string text = s.str();
  return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
}

json::value PrometheusServer::api(
    const std::string& path, const std::vector<std::pair<std::string, std::string>>& params) const {
  std::string target = "/api/v1/" + path;
  char sep = '?';
  for (const auto& [name, value] : params) {
    target += sep + url_encode(name) + "=" + url_encode(value);
    sep = '&';
  }
  const auto r = http_client::request({"127.0.0.1", static_cast<unsigned short>(port_)}, "GET",
                                      target, "", {}, std::chrono::seconds(10));
  const json::value reply = json::parse(r.body);
  if (reply.at("status") != "success") {
    throw std::runtime_error("prometheus " + target + ": " + r.body);
  }
  return reply.at("data");
}

json::array PrometheusServer::query(const std::string& promql) const {
  return api("query", {{"query", promql}}).at("result").as_array();
}

}  // namespace ratelimit::testing
