// Chunked line reading through zlib (gzopen reads plain files unchanged), with
// a progress bar driven by the compressed offset.
#include "ratelimit/planning/log_reader.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace ratelimit::planning {

namespace {

struct GzCloser {
  void operator()(gzFile f) const noexcept { gzclose(f); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

class ProgressBar {
 public:
  ProgressBar(bool enabled, const std::string& name, std::int64_t total)
      : enabled_(enabled), name_(name), total_(total) {}
  void update(std::int64_t done, std::uint64_t lines) {
    if (!enabled_) return;
    const int width = 30;
    const double fraction =
        total_ > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total_)) : 0;
    const int filled = static_cast<int>(fraction * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r%s [%s] %5.1f%% %llu lines", name_.c_str(), bar.c_str(), fraction * 100,
                 static_cast<unsigned long long>(lines));
    std::fflush(stderr);
  }
  void finish() {
    if (enabled_) std::fputs("\r\033[K", stderr);
  }

 private:
  bool enabled_;
  std::string name_;
  std::int64_t total_;
};

}  // namespace

std::uint64_t read_log_lines(const std::string& path, const ReadOptions& options,
                             const LineSink& sink) {
  const bool is_stdin = path == "-";
  GzHandle file(is_stdin ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(path.c_str(), "rb"));
  if (!file) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  gzbuffer(file.get(), 256 * 1024);
  struct stat st {};
  const std::int64_t size = !is_stdin && ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
  ProgressBar progress(options.progress && size > 0, path, size);

  constexpr std::size_t kChunk = 1 << 20;
  const std::size_t max_line = std::max<std::size_t>(options.max_line_bytes, 16);
  std::vector<char> buffer(kChunk + max_line);
  std::size_t held = 0;   // bytes of an unfinished line at the front
  bool skipping = false;  // inside a too-long line: drop bytes until its newline
  std::uint64_t number = 0;
  for (;;) {
    const int got = gzread(file.get(), buffer.data() + held, static_cast<unsigned>(kChunk));
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file.get(), &code);
      throw std::runtime_error(path + ": read error: " + (message ? message : "unknown"));
    }
    const std::size_t end = held + static_cast<std::size_t>(got);
    std::size_t start = 0;
    while (start < end) {
      const void* nl = std::memchr(buffer.data() + start, '\n', end - start);
      if (nl == nullptr) break;
      const auto stop = static_cast<std::size_t>(static_cast<const char*>(nl) - buffer.data());
      if (!skipping) sink(std::string_view(buffer.data() + start, stop - start), ++number, false);
      skipping = false;
      start = stop + 1;
    }
    held = end - start;
    if (held > 0 && !skipping && held >= max_line) {
      // A line longer than the limit: hand over its head, drop the rest.
      sink(std::string_view(buffer.data() + start, max_line), ++number, true);
      skipping = true;
    }
    if (skipping) {
      held = 0;
    } else if (held > 0 && start > 0) {
      std::memmove(buffer.data(), buffer.data() + start, held);
    }
    if (got == 0) {
      int code = Z_OK;
      gzerror(file.get(), &code);
      if (code != Z_OK) {  // a gzip stream cut short ends in Z_BUF_ERROR
        throw std::runtime_error(path + ": corrupt or truncated gzip data after " +
                                 std::to_string(number) + " lines");
      }
      if (held > 0) sink(std::string_view(buffer.data(), held), ++number, false);
      break;
    }
    progress.update(gzoffset(file.get()), number);
  }
  progress.finish();
  return number;
}

}  // namespace ratelimit::planning
