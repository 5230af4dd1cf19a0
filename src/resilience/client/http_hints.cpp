#include "ratelimit/resilience/http_hints.hpp"

#include <algorithm>
#include <array>
#include <cstddef>

namespace ratelimit {

namespace {

// ---- small lexing helpers --------------------------------------------------

constexpr std::int64_t kMaxDeltaSeconds = 1'000'000'000'000'000;  // 10^15

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_lcalpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) noexcept { return is_lcalpha(c) || (c >= 'A' && c <= 'Z'); }
char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Field values exclude leading and trailing whitespace (RFC 9110 §5.5).
std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Exactly `n` digits at s[pos..]; -1 if not.
int fixed_digits(std::string_view s, std::size_t pos, std::size_t n) noexcept {
  if (pos + n > s.size()) return -1;
  int value = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(s[i])) return -1;
    value = value * 10 + (s[i] - '0');
  }
  return value;
}

// ---- calendar (proleptic Gregorian, H. Hinnant's algorithms) ---------------

std::int64_t days_from_civil(std::int64_t y, int m, int d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t mp = m > 2 ? m - 3 : m + 9;
  const std::int64_t doy = (153 * mp + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::int64_t year_of_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (m <= 2 ? 1 : 0);
}

bool leap(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(std::int64_t y, int m) noexcept {
  constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

constexpr std::array<std::string_view, 7> kDayNames{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDayNames{
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Index of `name` in `names` (case-sensitive: RFC 9110 spells them %s"..."),
// or -1.
template <std::size_t N>
int index_of(const std::array<std::string_view, N>& names, std::string_view name) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

int month_at(std::string_view s, std::size_t pos) noexcept {
  if (pos + 3 > s.size()) return -1;
  const int i = index_of(kMonths, s.substr(pos, 3));
  return i < 0 ? -1 : i + 1;
}

// "HH:MM:SS" at s[pos..]: seconds of the day, or -1.
std::int64_t time_of_day_at(std::string_view s, std::size_t pos) noexcept {
  if (pos + 8 > s.size() || s[pos + 2] != ':' || s[pos + 5] != ':') return -1;
  const int h = fixed_digits(s, pos, 2);
  const int m = fixed_digits(s, pos + 3, 2);
  const int sec = fixed_digits(s, pos + 6, 2);
  // 60: a leap second, which RFC 9110 allows.
  if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60) return -1;
  return std::int64_t{h} * 3600 + m * 60 + sec;
}

std::optional<Micros> assemble(int weekday, std::int64_t y, int mon, int d,
                               std::int64_t seconds) noexcept {
  if (mon < 1 || d < 1 || d > days_in_month(y, mon) || seconds < 0) return std::nullopt;
  const std::int64_t days = days_from_civil(y, mon, d);
  // 1970-01-01 was a Thursday (index 4).
  const std::int64_t wd = ((days % 7) + 7 + 4) % 7;
  if (wd != weekday) return std::nullopt;
  return (days * 86400 + seconds) * kMicrosPerSecond;
}

// ---- RFC 8941 structured fields (the subset the rate-limit drafts use) -----

struct Param {
  std::string_view key;
  bool is_integer = false;
  std::int64_t integer = 0;
};

struct Item {
  bool is_integer = false;  // the bare item
  std::int64_t integer = 0;
  std::array<Param, 8> params{};
  std::size_t param_count = 0;

  [[nodiscard]] const Param* param(std::string_view key) const noexcept {
    for (std::size_t i = 0; i < param_count; ++i) {
      if (params[i].key == key) return &params[i];
    }
    return nullptr;
  }
};

class SfParser {
 public:
  explicit SfParser(std::string_view s) noexcept : s_(s) {}

  [[nodiscard]] bool done() const noexcept { return pos_ >= s_.size(); }

  // One list member; false when malformed.
  bool item(Item& out) noexcept {
    out = Item{};
    if (!bare_item(out.is_integer, out.integer)) return false;
    while (pos_ < s_.size() && s_[pos_] == ';') {
      ++pos_;
      while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
      Param p;
      if (!key(p.key)) return false;
      if (pos_ < s_.size() && s_[pos_] == '=') {
        ++pos_;
        if (!bare_item(p.is_integer, p.integer)) return false;
      }
      if (out.param_count == out.params.size()) return false;  // absurdly many
      out.params[out.param_count++] = p;
    }
    return true;
  }

  // After a member: end of input, or OWS "," OWS and another member.
  bool separator() noexcept {
    skip_ows();
    if (done()) return true;
    if (s_[pos_] != ',') return false;
    ++pos_;
    skip_ows();
    return !done();  // a trailing comma is malformed
  }

 private:
  void skip_ows() noexcept {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }

  bool key(std::string_view& out) noexcept {
    const std::size_t start = pos_;
    if (pos_ >= s_.size() || !(is_lcalpha(s_[pos_]) || s_[pos_] == '*')) return false;
    ++pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (!(is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*')) break;
      ++pos_;
    }
    out = s_.substr(start, pos_ - start);
    return true;
  }

  bool bare_item(bool& is_integer, std::int64_t& integer) noexcept {
    is_integer = false;
    if (pos_ >= s_.size()) return false;
    const char c = s_[pos_];
    if (c == '-' || is_digit(c)) return number(is_integer, integer);
    if (c == '"') return string();
    if (c == '?') return boolean();
    if (c == ':') return bytes();
    if (is_alpha(c) || c == '*') return token();
    return false;
  }

  bool number(bool& is_integer, std::int64_t& integer) noexcept {
    bool negative = false;
    if (s_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    std::size_t digits = 0;
    std::int64_t value = 0;
    while (pos_ < s_.size() && is_digit(s_[pos_])) {
      if (++digits > 15) return false;  // RFC 8941 integers have at most 15
      value = value * 10 + (s_[pos_] - '0');
      ++pos_;
    }
    if (digits == 0) return false;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      // A decimal: valid syntax, but never an integer.
      if (digits > 12) return false;
      ++pos_;
      std::size_t fraction = 0;
      while (pos_ < s_.size() && is_digit(s_[pos_])) {
        if (++fraction > 3) return false;
        ++pos_;
      }
      return fraction > 0;
    }
    is_integer = true;
    integer = negative ? -value : value;
    return true;
  }

  bool string() noexcept {
    ++pos_;  // opening quote
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\\')) return false;
        ++pos_;
      } else if (c < 0x20 || c > 0x7e) {
        return false;
      }
    }
    return false;  // unterminated
  }

  bool token() noexcept {
    ++pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      const bool tchar = is_alpha(c) || is_digit(c) ||
                         std::string_view("!#$%&'*+-.^_`|~:/").find(c) != std::string_view::npos;
      if (!tchar) break;
      ++pos_;
    }
    return true;
  }

  bool boolean() noexcept {
    ++pos_;
    if (pos_ >= s_.size() || (s_[pos_] != '0' && s_[pos_] != '1')) return false;
    ++pos_;
    return true;
  }

  bool bytes() noexcept {
    ++pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == ':') return true;
      if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '/' || c == '=')) return false;
    }
    return false;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

// ---- header lookup ---------------------------------------------------------

enum class Lookup { absent, found, conflicting };

// A singleton field: repeated with the same value is tolerated, with
// different values it is malformed (which one would be right?).
Lookup find_single(const HttpHeaders& headers, std::string_view name,
                   std::string_view& value) noexcept {
  Lookup result = Lookup::absent;
  for (const auto& [n, v] : headers) {
    if (!iequals(n, name)) continue;
    const std::string_view trimmed = trim(v);
    if (result == Lookup::found && trimmed != value) return Lookup::conflicting;
    value = trimmed;
    result = Lookup::found;
  }
  return result;
}

struct Reader {
  const HttpHeaders& headers;
  Micros now;
  Micros max_delay;
  HttpHints hints;

  [[nodiscard]] bool delay_ok(std::int64_t seconds) const noexcept {
    return seconds <= max_delay / kMicrosPerSecond && seconds * kMicrosPerSecond <= max_delay;
  }
  [[nodiscard]] bool instant_ok(Micros at) const noexcept {
    return at >= now - max_delay && at <= now + max_delay;
  }

  void add_reset(Micros at) noexcept {
    hints.reset_at = hints.reset_at ? std::max(*hints.reset_at, at) : at;
  }

  void retry_after() noexcept {
    std::string_view v;
    const Lookup l = find_single(headers, "Retry-After", v);
    if (l == Lookup::absent) return;
    if (l == Lookup::conflicting) {
      ++hints.malformed;
      return;
    }
    if (!v.empty() && is_digit(v.front())) {
      const std::optional<std::int64_t> s = parse_delta_seconds(v);
      if (!s) {
        // All digits but too long is absurd; anything else is malformed.
        const bool digits = std::all_of(v.begin(), v.end(), is_digit);
        ++(digits ? hints.out_of_range : hints.malformed);
      } else if (!delay_ok(*s)) {
        ++hints.out_of_range;
      } else {
        hints.retry_at = now + *s * kMicrosPerSecond;
      }
      return;
    }
    const std::optional<Micros> at = parse_http_date(v, now);
    if (!at) {
      ++hints.malformed;
    } else if (!instant_ok(*at)) {
      ++hints.out_of_range;
    } else {
      hints.retry_at = *at;
    }
  }

  // A field holding delta-seconds or epoch seconds: nullopt when absent;
  // malformed and out-of-range values are counted and also give nullopt.
  std::optional<std::int64_t> seconds_field(std::string_view name, bool& bad) noexcept {
    std::string_view v;
    const Lookup l = find_single(headers, name, v);
    if (l == Lookup::absent) return std::nullopt;
    const std::optional<std::int64_t> s =
        l == Lookup::conflicting ? std::nullopt : parse_delta_seconds(v);
    if (!s) {
      ++hints.malformed;
      bad = true;
    }
    return s;
  }

  // `*-Remaining` with `*-Reset`; `epoch` says whether Reset is an instant.
  void remaining_reset(std::string_view remaining_name, std::string_view reset_name,
                       bool epoch) noexcept {
    bool bad = false;
    const std::optional<std::int64_t> remaining = seconds_field(remaining_name, bad);
    const std::optional<std::int64_t> reset = seconds_field(reset_name, bad);
    if (!reset) return;
    Micros at = 0;
    if (epoch) {
      if (*reset > kMaxInstant / kMicrosPerSecond || !instant_ok(*reset * kMicrosPerSecond)) {
        ++hints.out_of_range;
        return;
      }
      at = *reset * kMicrosPerSecond;
    } else {
      if (!delay_ok(*reset)) {
        ++hints.out_of_range;
        return;
      }
      at = now + *reset * kMicrosPerSecond;
    }
    if (remaining && *remaining == 0 && !bad) add_reset(at);
  }

  // What `use` made of one list item.
  enum class ItemVerdict : std::uint8_t { used, malformed, out_of_range };

  // Every field line named `name`, parsed as a list of items; `use` sees each
  // item of a well-formed line and judges it. A field line counts once in
  // the counters, as its worst item: malformed, else out of range.
  template <class Use>
  void each_list_item(std::string_view name, Use&& use) noexcept {
    for (const auto& [n, v] : headers) {
      if (!iequals(n, name)) continue;
      SfParser parser(trim(v));
      std::array<Item, 16> items{};
      std::size_t count = 0;
      bool ok = !parser.done();
      while (ok && !parser.done()) {
        if (count == items.size() || !parser.item(items[count]) || !parser.separator()) {
          ok = false;
          break;
        }
        ++count;
      }
      if (!ok) {
        ++hints.malformed;
        continue;
      }
      bool malformed = false;
      bool out_of_range = false;
      for (std::size_t i = 0; i < count; ++i) {
        const ItemVerdict verdict = use(items[i]);
        malformed = malformed || verdict == ItemVerdict::malformed;
        out_of_range = out_of_range || verdict == ItemVerdict::out_of_range;
      }
      if (malformed) {
        ++hints.malformed;
      } else if (out_of_range) {
        ++hints.out_of_range;
      }
    }
  }

  // RateLimit-Policy: `100;w=60` (draft 07, what ratelimitd sends) or
  // `"name";q=100;w=60` (later drafts).
  void policy() noexcept {
    each_list_item("RateLimit-Policy", [this](const Item& item) {
      const Param* q = item.param("q");
      const Param* w = item.param("w");
      const bool has_quota = item.is_integer || (q != nullptr && q->is_integer);
      if (!has_quota || w == nullptr || !w->is_integer) return ItemVerdict::malformed;
      const std::int64_t quota = item.is_integer ? item.integer : q->integer;
      if (quota <= 0 || w->integer <= 0) return ItemVerdict::out_of_range;
      const double rate = static_cast<double>(quota) / static_cast<double>(w->integer);
      hints.policy_rate = hints.policy_rate ? std::min(*hints.policy_rate, rate) : rate;
      return ItemVerdict::used;
    });
  }

  // RateLimit: `"name";r=0;t=30` (later drafts): r remaining, t delta seconds.
  void ratelimit_structured() noexcept {
    each_list_item("RateLimit", [this](const Item& item) {
      const Param* r = item.param("r");
      const Param* t = item.param("t");
      if (r == nullptr || !r->is_integer || t == nullptr || !t->is_integer) {
        return ItemVerdict::malformed;
      }
      if (r->integer < 0 || t->integer < 0 || !delay_ok(t->integer)) {
        return ItemVerdict::out_of_range;
      }
      if (r->integer == 0) add_reset(now + t->integer * kMicrosPerSecond);
      return ItemVerdict::used;
    });
  }
};

}  // namespace

std::optional<std::int64_t> parse_delta_seconds(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : text) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
    if (value > kMaxDeltaSeconds) return std::nullopt;
  }
  return value;
}

std::optional<Micros> parse_http_date(std::string_view s, Micros now) noexcept {
  const std::size_t comma = s.find(',');
  if (comma == 3 && s.size() == 29) {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    const int wd = index_of(kDayNames, s.substr(0, 3));
    if (wd < 0 || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
        s.substr(25) != " GMT") {
      return std::nullopt;
    }
    const int d = fixed_digits(s, 5, 2);
    const int y = fixed_digits(s, 12, 4);
    const std::int64_t tod = time_of_day_at(s, 17);
    if (d < 0 || y < 0) return std::nullopt;
    return assemble(wd, y, month_at(s, 8), d, tod);
  }
  if (comma != std::string_view::npos && comma >= 6) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    const int wd = index_of(kLongDayNames, s.substr(0, comma));
    const std::string_view rest = s.substr(comma);
    if (wd < 0 || rest.size() != 24 || rest[1] != ' ' || rest[4] != '-' || rest[8] != '-' ||
        rest[11] != ' ' || rest.substr(20) != " GMT") {
      return std::nullopt;
    }
    const int d = fixed_digits(rest, 2, 2);
    const int yy = fixed_digits(rest, 9, 2);
    const std::int64_t tod = time_of_day_at(rest, 12);
    if (d < 0 || yy < 0) return std::nullopt;
    // RFC 9110: a year more than 50 years in the future is the most recent
    // past year with the same last two digits.
    const std::int64_t this_year = year_of_days(now / kMicrosPerDay);
    std::int64_t y = this_year - ((this_year % 100) + 100) % 100 + yy;
    if (y > this_year + 50) y -= 100;
    return assemble(wd, y, month_at(rest, 5), d, tod);
  }
  if (comma == std::string_view::npos && s.size() == 24) {
    // asctime: "Sun Nov  6 08:49:37 1994"
    const int wd = index_of(kDayNames, s.substr(0, 3));
    if (wd < 0 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ') {
      return std::nullopt;
    }
    const int d = s[8] == ' ' ? fixed_digits(s, 9, 1) : fixed_digits(s, 8, 2);
    const int y = fixed_digits(s, 20, 4);
    const std::int64_t tod = time_of_day_at(s, 11);
    if (d < 0 || y < 0) return std::nullopt;
    return assemble(wd, y, month_at(s, 4), d, tod);
  }
  return std::nullopt;
}

HttpHints read_http_hints(const HttpHeaders& headers, Micros now, Micros max_delay) noexcept {
  // Clamped so that now ± max_delay cannot overflow for any clock reading.
  Reader reader{headers, now, std::clamp<Micros>(max_delay, 0, kMaxInstant), {}};
  reader.retry_after();
  reader.remaining_reset("RateLimit-Remaining", "RateLimit-Reset", false);
  reader.remaining_reset("X-RateLimit-Remaining", "X-RateLimit-Reset", true);
  reader.remaining_reset("X-Rate-Limit-Remaining", "X-Rate-Limit-Reset", true);
  reader.ratelimit_structured();
  reader.policy();
  return reader.hints;
}

}  // namespace ratelimit
