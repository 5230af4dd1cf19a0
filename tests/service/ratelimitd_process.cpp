#include "ratelimitd_process.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace ratelimit::testing {

namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

TempConfigFile::TempConfigFile(const std::string& yaml) {
  char dir[] = "/tmp/ratelimitd-config-XXXXXX";
  if (::mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = dir;
  path_ = dir_ + "/policy.yaml";
  write(yaml);
}

TempConfigFile::~TempConfigFile() { std::filesystem::remove_all(dir_); }

void TempConfigFile::write(const std::string& yaml) const {
  std::ofstream out(path_, std::ios::trunc);
  out << yaml;
}

RatelimitdProcess::RatelimitdProcess(const std::string& binary,
                                     const std::vector<std::string>& args) {
  char name[] = "/tmp/ratelimitd-test-XXXXXX";
  const int fd = ::mkstemp(name);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  log_path_ = name;
  std::vector<std::string> argv_storage{binary, "--listen", "127.0.0.1:0"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fd, 1);
  posix_spawn_file_actions_adddup2(&actions, fd, 2);
  const int rc = ::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fd);
  if (rc != 0) throw std::runtime_error("cannot start " + binary);
  const std::regex listening("listening on 127\\.0\\.0\\.1:([0-9]+)");
  // A real-time wait for the process to come up (not a test of time).
  for (int i = 0; i < 3000; ++i) {
    std::smatch m;
    const std::string out = read_file(log_path_);
    if (std::regex_search(out, m, listening)) {
      port_ = std::stoi(m[1].str());
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("ratelimitd exited at start: " + out);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("ratelimitd did not start: " + read_file(log_path_));
}

RatelimitdProcess::~RatelimitdProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  ::unlink(log_path_.c_str());
}

int RatelimitdProcess::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

void RatelimitdProcess::send_signal(int signal) const {
  if (pid_ > 0) ::kill(pid_, signal);
}

std::string RatelimitdProcess::output() const { return read_file(log_path_); }

int RatelimitdProcess::proxy_port() const {
  const std::regex listening("proxy listening on [^ ]*:([0-9]+)");
  // A real-time wait for a line the process prints at start.
  for (int i = 0; i < 3000; ++i) {
    std::smatch m;
    const std::string out = read_file(log_path_);
    if (std::regex_search(out, m, listening)) return std::stoi(m[1].str());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("ratelimitd printed no proxy port: " + read_file(log_path_));
}

HttpResponse RatelimitdProcess::request(const std::string& method, const std::string& target,
                                        const std::string& body,
                                        const std::map<std::string, std::string>& headers) const {
  return http_client::request(
      http_client::Endpoint{"127.0.0.1", static_cast<unsigned short>(port_)}, method, target, body,
      headers);
}

}  // namespace ratelimit::testing
