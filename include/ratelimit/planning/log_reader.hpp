#pragma once
/// @file log_reader.hpp
/// Streams the lines of a log file (plain or gzip, or stdin) in large
/// chunks: memory is bounded by the chunk and the longest line, not the file.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ratelimit::planning {

struct ReadOptions {
  /// Lines longer than this are reported to `on_line` truncated and flagged
  /// (`too_long`), never buffered whole.
  std::size_t max_line_bytes = 64 * 1024;
  /// Draw a progress bar on stderr (callers pass isatty(2)).
  bool progress = false;
};

/// Per-line callback: the line without its newline, its 1-based number, and
/// whether it was cut at max_line_bytes.
using LineSink = std::function<void(std::string_view line, std::uint64_t number, bool too_long)>;

/// Reads `path` ("-" = stdin) line by line; gzip is detected by its magic
/// bytes, not the name. Throws std::runtime_error naming the file when it
/// cannot be opened or a gzip stream is corrupt. Returns the lines read.
std::uint64_t read_log_lines(const std::string& path, const ReadOptions& options,
                             const LineSink& sink);

}  // namespace ratelimit::planning
