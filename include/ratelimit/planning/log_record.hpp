#pragma once
/// @file log_record.hpp
/// One access-log line as `ratelimit analyze` sees it, and the parsers that
/// produce it from nginx/Apache combined lines and JSON lines (docs/planning.md).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ratelimit/time.hpp"

namespace ratelimit::planning {

/// The fields of one request. The views point into the parsed line or into
/// the parser's buffers: valid until the parser's next `parse` call.
struct LogRecord {
  /// When the request was logged, µs since the Unix epoch (UTC).
  Micros time = 0;
  /// The timestamp's own offset from UTC in minutes (+0100 -> 60); 0 for
  /// epoch numbers. Hour-of-day and day-of-week use time + offset.
  int utc_offset_minutes = 0;
  std::string_view ip;
  /// Empty when absent ("-" in combined logs).
  std::string_view user;
  std::string_view api_key;
  std::string_view method;
  /// The request target as logged (query included).
  std::string_view path;
  /// HTTP status; 0 when not logged.
  int status = 0;
};

enum class LogFormat : std::uint8_t {
  /// nginx/Apache "combined" (and "common": the fields after the byte count
  /// are optional).
  combined,
  /// One JSON object per line; field names configurable (JsonFields).
  json,
};

/// "combined" or "json"; nullopt otherwise.
[[nodiscard]] std::optional<LogFormat> parse_log_format(std::string_view name) noexcept;
[[nodiscard]] std::string_view to_string(LogFormat format) noexcept;
/// The format a line looks like: json when its first non-blank byte is '{'.
[[nodiscard]] LogFormat detect_log_format(std::string_view line) noexcept;

/// Field names of JSON-lines logs. An empty name means "not logged".
struct JsonFields {
  /// A number (Unix seconds, fractional allowed; values above 1e11 are
  /// taken as milliseconds) or a string: RFC 3339 ("2026-12-07T03:14:38.5Z",
  /// "...+01:00") or the combined format's "07/Dec/2026:03:14:38 +0000".
  std::string time = "time";
  std::string ip = "remote_addr";
  std::string user = "remote_user";
  std::string api_key = "api_key";
  std::string method = "method";
  std::string path = "path";
  /// "METHOD TARGET PROTOCOL", used when `method`/`path` are not present.
  std::string request = "request";
  std::string status = "status";
};

struct ParserOptions {
  LogFormat format = LogFormat::combined;
  JsonFields json;
  /// Combined format: 1-based index of the quoted field that holds the API
  /// key (1 = the request line, 2 = referer, 3 = user agent, 4 = the first
  /// field appended to the standard format, e.g. "$http_x_api_key"); 0 = no
  /// API key in the log.
  int api_key_field = 0;
};

/// Parses lines of one format. Not thread-safe (one per thread); no heap
/// allocation per line once warmed up (the JSON parser reuses one buffer).
class LineParser {
 public:
  explicit LineParser(ParserOptions options);
  ~LineParser();
  LineParser(const LineParser&) = delete;
  LineParser& operator=(const LineParser&) = delete;

  /// Fills `out` from `line` (without its newline). Returns nullptr on
  /// success, else a static message saying what is wrong. Never throws.
  const char* parse(std::string_view line, LogRecord& out) noexcept;

  [[nodiscard]] const ParserOptions& options() const noexcept { return options_; }

 private:
  const char* parse_combined(std::string_view line, LogRecord& out) noexcept;
  const char* parse_json(std::string_view line, LogRecord& out) noexcept;

  struct JsonState;
  ParserOptions options_;
  std::unique_ptr<JsonState> json_;
  /// The last combined timestamp text and its value: consecutive lines
  /// usually share their second, so most lines skip date arithmetic.
  char cached_time_text_[32] = {};
  std::size_t cached_time_size_ = 0;
  Micros cached_time_ = 0;
  int cached_offset_ = 0;
};

/// "07/Dec/2026:03:14:38 +0000" -> (µs since epoch UTC, offset minutes).
/// Also accepts a fractional second ("03:14:38.250"). nullopt when malformed.
struct ParsedTime {
  Micros time = 0;
  int utc_offset_minutes = 0;
};
[[nodiscard]] std::optional<ParsedTime> parse_clf_time(std::string_view text) noexcept;
/// RFC 3339 / ISO 8601: "2026-12-07T03:14:38Z", "2026-12-07 03:14:38.123+01:00".
[[nodiscard]] std::optional<ParsedTime> parse_iso_time(std::string_view text) noexcept;
/// "2026-12-07T03:14:38Z" (seconds; the fraction is dropped).
[[nodiscard]] std::string format_utc(Micros time);
/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12).
[[nodiscard]] constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m,
                                                     unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace ratelimit::planning
