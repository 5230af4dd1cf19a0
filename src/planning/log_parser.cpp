// Hand-rolled parsing of combined lines (string_view, no regex, no
// allocation) and Boost.JSON parsing of JSON lines into a reused buffer.
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "ratelimit/planning/log_record.hpp"

namespace ratelimit::planning {

namespace {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// `n` decimal digits at `s`, or -1.
int digits(const char* s, int n) noexcept {
  int v = 0;
  for (int i = 0; i < n; ++i) {
    if (!is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

int month_from_abbrev(const char* s) noexcept {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (std::memcmp(s, kMonths[i], 3) == 0) return i + 1;
  }
  return 0;
}

bool valid_date_time(int y, int mo, int d, int h, int mi, int s) noexcept {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1]) return false;
  return h >= 0 && h < 24 && mi >= 0 && mi < 60 && s >= 0 && s <= 60;
}

Micros to_micros(int y, int mo, int d, int h, int mi, int s) noexcept {
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi) * kMicrosPerMinute + Micros{s} * kMicrosPerSecond;
}

/// ".250" at the start of `rest`: the fraction in µs and how many bytes it used.
Micros fraction(std::string_view rest, std::size_t& used) noexcept {
  used = 0;
  if (rest.empty() || rest[0] != '.') return 0;
  Micros us = 0;
  Micros scale = 100'000;
  std::size_t i = 1;
  for (; i < rest.size() && is_digit(rest[i]); ++i) {
    us += (rest[i] - '0') * scale;
    scale /= 10;
  }
  if (i == 1) return -1;
  used = i;
  return us;
}

/// "+0100", "-05:30", "Z" -> minutes; INT32_MIN when malformed.
int utc_offset(std::string_view z) noexcept {
  constexpr int kBad = INT32_MIN;
  if (z == "Z" || z == "z") return 0;
  if (z.size() != 5 && z.size() != 6) return kBad;
  if (z[0] != '+' && z[0] != '-') return kBad;
  const int hh = digits(z.data() + 1, 2);
  const int mm = digits(z.data() + (z.size() == 6 ? 4 : 3), 2);
  if (hh < 0 || mm < 0 || hh > 23 || mm > 59 || (z.size() == 6 && z[3] != ':')) return kBad;
  return (z[0] == '-' ? -1 : 1) * (hh * 60 + mm);
}

/// Splits "METHOD TARGET PROTOCOL" (the protocol may be missing: HTTP/0.9).
bool split_request(std::string_view request, LogRecord& out) noexcept {
  const auto sp = request.find(' ');
  if (sp == std::string_view::npos || sp == 0) return false;
  out.method = request.substr(0, sp);
  auto target = request.substr(sp + 1);
  const auto sp2 = target.find(' ');
  if (sp2 != std::string_view::npos) target = target.substr(0, sp2);
  if (target.empty()) return false;
  out.path = target;
  return true;
}

}  // namespace

std::string format_utc(Micros time) {
  std::int64_t seconds = time / kMicrosPerSecond;
  if (time < 0 && time % kMicrosPerSecond != 0) --seconds;
  std::int64_t z = (seconds >= 0 ? seconds : seconds - 86399) / 86400;
  const std::int64_t secs_of_day = seconds - z * 86400;
  // civil_from_days (H. Hinnant).
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  char out[64];
  std::snprintf(out, sizeof out, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(secs_of_day / 3600),
                static_cast<long long>(secs_of_day / 60 % 60),
                static_cast<long long>(secs_of_day % 60));
  return out;
}

std::optional<LogFormat> parse_log_format(std::string_view name) noexcept {
  if (name == "combined" || name == "common") return LogFormat::combined;
  if (name == "json") return LogFormat::json;
  return std::nullopt;
}

std::string_view to_string(LogFormat format) noexcept {
  return format == LogFormat::json ? "json" : "combined";
}

LogFormat detect_log_format(std::string_view line) noexcept {
  for (char c : line) {
    if (c == ' ' || c == '\t') continue;
    return c == '{' ? LogFormat::json : LogFormat::combined;
  }
  return LogFormat::combined;
}

std::optional<ParsedTime> parse_clf_time(std::string_view t) noexcept {
  // dd/Mon/yyyy:HH:MM:SS[.fff] +zzzz
  if (t.size() < 26 || t[2] != '/' || t[6] != '/' || t[11] != ':' || t[14] != ':' || t[17] != ':') {
    return std::nullopt;
  }
  const int d = digits(t.data(), 2), mo = month_from_abbrev(t.data() + 3),
            y = digits(t.data() + 7, 4), h = digits(t.data() + 12, 2),
            mi = digits(t.data() + 15, 2), s = digits(t.data() + 18, 2);
  if (!valid_date_time(y, mo, d, h, mi, s)) return std::nullopt;
  std::size_t used = 0;
  const Micros frac = fraction(t.substr(20), used);
  if (frac < 0) return std::nullopt;
  const auto rest = t.substr(20 + used);
  if (rest.size() != 6 || rest[0] != ' ') return std::nullopt;
  const int offset = utc_offset(rest.substr(1));
  if (offset == INT32_MIN) return std::nullopt;
  const Micros utc = to_micros(y, mo, d, h, mi, s) + frac - Micros{offset} * kMicrosPerMinute;
  if (utc < 0) return std::nullopt;  // before 1970 once the offset is applied
  return ParsedTime{utc, offset};
}

std::optional<ParsedTime> parse_iso_time(std::string_view t) noexcept {
  // yyyy-mm-ddTHH:MM:SS[.fff](Z|+hh:mm|+hhmm)
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != ' ') ||
      t[13] != ':' || t[16] != ':') {
    return std::nullopt;
  }
  const int y = digits(t.data(), 4), mo = digits(t.data() + 5, 2), d = digits(t.data() + 8, 2),
            h = digits(t.data() + 11, 2), mi = digits(t.data() + 14, 2),
            s = digits(t.data() + 17, 2);
  if (!valid_date_time(y, mo, d, h, mi, s)) return std::nullopt;
  std::size_t used = 0;
  const Micros frac = fraction(t.substr(19), used);
  if (frac < 0) return std::nullopt;
  const int offset = utc_offset(t.substr(19 + used));
  if (offset == INT32_MIN) return std::nullopt;
  const Micros utc = to_micros(y, mo, d, h, mi, s) + frac - Micros{offset} * kMicrosPerMinute;
  if (utc < 0) return std::nullopt;  // before 1970 once the offset is applied
  return ParsedTime{utc, offset};
}

struct LineParser::JsonState {
  // Each line's DOM is built in `buffer` through a monotonic resource made
  // afresh per line (cheap: two pointers), so parsing touches the heap only
  // for a line bigger than the buffer. (Reusing one resource through
  // release() failed with bad_alloc in Boost 1.81.)
  static constexpr std::size_t kBufferBytes = 64 * 1024;
  std::unique_ptr<unsigned char[]> buffer = std::make_unique<unsigned char[]>(kBufferBytes);
  std::optional<boost::json::monotonic_resource> resource;
  boost::json::parser parser;
  boost::json::value value;
};

LineParser::LineParser(ParserOptions options) : options_(std::move(options)) {
  if (options_.format == LogFormat::json) json_ = std::make_unique<JsonState>();
}

LineParser::~LineParser() = default;

const char* LineParser::parse(std::string_view line, LogRecord& out) noexcept {
  out = LogRecord{};
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return "empty line";
  return options_.format == LogFormat::json ? parse_json(line, out) : parse_combined(line, out);
}

const char* LineParser::parse_combined(std::string_view line, LogRecord& out) noexcept {
  // remote_addr SP ident SP remote_user SP [time_local] SP "request" SP status SP bytes
  //   [SP "referer" SP "user_agent" [SP "extra"...]]
  std::size_t pos = line.find(' ');
  if (pos == std::string_view::npos || pos == 0) return "no client address";
  out.ip = line.substr(0, pos);
  const auto ident_end = line.find(' ', pos + 1);
  if (ident_end == std::string_view::npos) return "no ident field";
  const auto user_end = line.find(' ', ident_end + 1);
  if (user_end == std::string_view::npos) return "no remote_user field";
  out.user = line.substr(ident_end + 1, user_end - ident_end - 1);
  if (out.user == "-") out.user = {};
  pos = user_end + 1;
  if (pos >= line.size() || line[pos] != '[') return "no [time] field";
  const auto close = line.find(']', pos);
  if (close == std::string_view::npos) return "unterminated [time] field";
  const auto time_text = line.substr(pos + 1, close - pos - 1);
  if (time_text.size() == cached_time_size_ &&
      std::memcmp(time_text.data(), cached_time_text_, cached_time_size_) == 0) {
    out.time = cached_time_;
    out.utc_offset_minutes = cached_offset_;
  } else {
    const auto parsed = parse_clf_time(time_text);
    if (!parsed) return "malformed [time] (expected dd/Mon/yyyy:HH:MM:SS +zzzz)";
    out.time = parsed->time;
    out.utc_offset_minutes = parsed->utc_offset_minutes;
    if (time_text.size() <= sizeof cached_time_text_) {
      std::memcpy(cached_time_text_, time_text.data(), time_text.size());
      cached_time_size_ = time_text.size();
      cached_time_ = parsed->time;
      cached_offset_ = parsed->utc_offset_minutes;
    }
  }
  pos = close + 1;
  // Quoted fields and the status code after the request line.
  int quoted = 0;
  bool have_status = false;
  while (pos < line.size()) {
    if (line[pos] == ' ') {
      ++pos;
      continue;
    }
    if (line[pos] == '"') {
      std::size_t end = pos + 1;
      while (end < line.size() && line[end] != '"') end += line[end] == '\\' ? 2u : 1u;
      if (end >= line.size()) return "unterminated quoted field";
      const auto field = line.substr(pos + 1, end - pos - 1);
      ++quoted;
      if (quoted == 1) {
        if (!split_request(field, out)) return "request is not \"METHOD TARGET PROTOCOL\"";
      }
      if (quoted == options_.api_key_field && field != "-") out.api_key = field;
      pos = end + 1;
      if (quoted >= options_.api_key_field && quoted >= 1 && have_status) break;
      continue;
    }
    // An unquoted token: the status (first after the request), then bytes.
    auto end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    if (quoted == 1 && !have_status) {
      const auto token = line.substr(pos, end - pos);
      if (token.size() != 3) return "status is not a 3-digit code";
      out.status = digits(token.data(), 3);
      if (out.status < 100) return "status is not a 3-digit code";
      have_status = true;
      if (options_.api_key_field <= 1) break;  // nothing else to read
    }
    pos = end;
  }
  if (quoted == 0) return "no \"request\" field";
  if (!have_status) return "no status code";
  return nullptr;
}

namespace {

/// The value named `name`: a top-level key, or else a dotted path into
/// nested objects ("request.headers.X-Api-Key"), as Caddy and Traefik log.
const boost::json::value* field(const boost::json::object& o, std::string_view name) noexcept {
  if (name.empty()) return nullptr;
  if (const auto* v = o.if_contains(name)) return v;
  const boost::json::object* at = &o;
  for (;;) {
    const auto dot = name.find('.');
    const auto* v = at->if_contains(name.substr(0, dot));
    if (v == nullptr || dot == std::string_view::npos) return v;
    at = v->if_object();
    if (at == nullptr) return nullptr;
    name.remove_prefix(dot + 1);
  }
}

std::string_view string_field(const boost::json::object& o, const std::string& name) noexcept {
  const auto* v = field(o, name);
  if (v == nullptr) return {};
  // A header logged as a list of values ("X-Api-Key": ["abc"]): the first.
  if (const auto* a = v->if_array(); a != nullptr && !a->empty()) v = &a->front();
  if (const auto* s = v->if_string()) {
    std::string_view text(s->data(), s->size());
    return text == "-" ? std::string_view{} : text;
  }
  return {};
}

}  // namespace

const char* LineParser::parse_json(std::string_view line, LogRecord& out) noexcept {
  auto& js = *json_;
  // Let go of everything in the previous line's resource before replacing it.
  js.value = nullptr;
  js.parser.reset();
  js.resource.emplace(js.buffer.get(), JsonState::kBufferBytes);
  js.parser.reset(boost::json::storage_ptr(&*js.resource));
  boost::system::error_code ec;
  js.parser.write(line.data(), line.size(), ec);
  if (ec) return "not a JSON object";
  try {
    js.value = js.parser.release();
  } catch (...) {
    return "not a JSON object";
  }
  const auto* o = js.value.if_object();
  if (o == nullptr) return "not a JSON object";
  const auto& f = options_.json;
  const auto* t = field(*o, f.time);
  if (t == nullptr) return "no time field";
  if (const auto* s = t->if_string()) {
    const std::string_view text(s->data(), s->size());
    auto parsed = parse_iso_time(text);
    if (!parsed) parsed = parse_clf_time(text);
    if (!parsed)
      return "malformed time (expected RFC 3339, dd/Mon/yyyy:HH:MM:SS +zzzz or Unix seconds)";
    out.time = parsed->time;
    out.utc_offset_minutes = parsed->utc_offset_minutes;
  } else if (t->is_number()) {
    double seconds = t->to_number<double>();
    if (seconds > 1e11) seconds /= 1000.0;  // milliseconds
    if (!(seconds >= 0 && seconds < 2.0e10)) return "time out of range";
    out.time = static_cast<Micros>(std::llround(seconds * 1e6));
  } else {
    return "time is neither a string nor a number";
  }
  out.ip = string_field(*o, f.ip);
  out.user = string_field(*o, f.user);
  out.api_key = string_field(*o, f.api_key);
  out.method = string_field(*o, f.method);
  out.path = string_field(*o, f.path);
  if (out.method.empty() || out.path.empty()) {
    const auto request = string_field(*o, f.request);
    if (!request.empty() && !split_request(request, out)) {
      return "request is not \"METHOD TARGET PROTOCOL\"";
    }
  }
  if (!f.status.empty()) {
    if (const auto* s = field(*o, f.status)) {
      if (s->is_int64()) {
        out.status = static_cast<int>(std::clamp<std::int64_t>(s->as_int64(), 0, 999));
      } else if (const auto* text = s->if_string(); text != nullptr && text->size() == 3) {
        out.status = std::max(0, digits(text->data(), 3));
      }
    }
  }
  return nullptr;
}

}  // namespace ratelimit::planning
