#pragma once
// Runs a command-line program (the `ratelimit` CLI, in tests) through the
// shell and collects its exit status and output (stdout and stderr).

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace ratelimit::testing {

struct CliRun {
  int status = -1;     // exit status; -1 when it did not exit normally
  std::string output;  // stdout and stderr
};

/// Runs `binary args` (args as shell words) and waits for it.
inline CliRun run_cli(const std::string& binary, const std::string& args) {
  const std::string command = binary + " " + args + " 2>&1";
  CliRun r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) r.output += buf.data();
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

}  // namespace ratelimit::testing
