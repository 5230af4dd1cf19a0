#include "ratelimit/policy/endpoint_table.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

#include "policy/percent_encoding.hpp"

namespace ratelimit::policy {

namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }
bool is_control(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7F;
}
bool is_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
using percent::is_digit;
bool is_method_char(char c) noexcept { return is_upper(c) || is_digit(c) || c == '-' || c == '_'; }
bool is_name_char(char c) noexcept { return is_upper(c) || is_lower(c) || is_digit(c) || c == '_'; }
[[noreturn]] void fail(std::string_view text, std::string_view problem) {
  throw InvalidEndpointPattern("invalid endpoint pattern \"" + std::string(text) +
                               "\": " + std::string(problem));
}

std::string q(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool valid_method(std::string_view method) noexcept {
  if (method == "*") return true;
  if (method.empty() || !is_upper(method.front())) return false;
  return std::all_of(method.begin(), method.end(), is_method_char);
}

void check_method(std::string_view text, std::string_view method) {
  if (valid_method(method)) return;
  std::string upper(method);
  for (char& c : upper) {
    if (is_lower(c)) c = static_cast<char>(c - 'a' + 'A');
  }
  if (upper != method && valid_method(upper)) {
    fail(text, "method must be uppercase, got " + q(method) + " (write " + q(upper) + ")");
  }
  fail(text, "invalid method " + q(method) +
                 " (expected an uppercase token such as \"GET\", or \"*\" for any method)");
}

bool is_wildcard_segment(std::string_view s) noexcept {
  return s == "*" || (s.size() >= 2 && s.front() == '{' && s.back() == '}');
}

/// A literal segment in the form the normalizer produces: unreserved escapes
/// decoded, the other escapes with uppercase hex digits.
std::string canonical_literal(std::string_view text, std::string_view segment) {
  if (!percent::escapes_well_formed(segment)) {
    fail(text,
         "malformed '%' escape in segment " + q(segment) + " (expected '%' and two hex digits)");
  }
  std::string out;
  out.reserve(segment.size());
  percent::append_decoded(out, segment);
  if (out == "." || out == "..") {
    fail(text, "dot segment " + q(segment) +
                   " (patterns match normalized paths, which have no \".\" or \"..\")");
  }
  return out;
}

/// "/a/b" for literal segments {"a", "b"}; "/" for none.
std::string join_path(const std::vector<std::string>& segments) {
  if (segments.empty()) return "/";
  std::string path;
  for (const auto& s : segments) {
    path.push_back('/');
    path.append(s);
  }
  return path;
}

/// Segments in a normalized path: the number of '/', except for the root.
std::size_t count_segments(std::string_view path) noexcept {
  if (path == "/") return 0;
  return static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

}  // namespace

EndpointPattern parse_endpoint_pattern(std::string_view text) {
  std::string_view rest = text;
  while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && is_space(rest.back())) rest.remove_suffix(1);
  if (rest.empty()) fail(text, "missing method and path (expected \"METHOD /path\")");
  if (rest.front() == '/')
    fail(text, "missing method (expected \"METHOD /path\", e.g. \"GET /users\")");

  std::size_t split = 0;
  while (split < rest.size() && !is_space(rest[split])) ++split;
  const std::string_view method = rest.substr(0, split);
  std::string_view path = rest.substr(split);
  while (!path.empty() && is_space(path.front())) path.remove_prefix(1);
  if (path.empty()) fail(text, "missing path (expected \"METHOD /path\")");
  check_method(text, method);

  if (path.front() != '/') fail(text, "path must start with '/', got " + q(path));
  if (path.find('?') != std::string_view::npos) {
    fail(text, "query string not allowed (patterns match paths without the query)");
  }
  if (path.find('#') != std::string_view::npos) fail(text, "fragment ('#') not allowed");
  if (std::any_of(path.begin(), path.end(), is_space)) fail(text, "whitespace in path");
  if (std::any_of(path.begin(), path.end(), is_control)) fail(text, "control character in path");

  EndpointPattern pattern;
  pattern.method = std::string(method);
  if (path.size() > 1) {
    std::size_t pos = 1;
    while (pos <= path.size()) {
      std::size_t next = path.find('/', pos);
      if (next == std::string_view::npos) next = path.size();
      const std::string_view segment = path.substr(pos, next - pos);
      const bool last = next == path.size();
      pos = next + 1;
      if (segment.empty()) fail(text, "empty segment (\"//\" or a trailing '/')");
      if (segment == "**") {
        if (!last) fail(text, "\"**\" must be the last segment");
        pattern.tail = true;
        break;
      }
      if (segment == "*") {
        pattern.segments.emplace_back(segment);
        continue;
      }
      if (segment.front() == '{') {
        const bool closed = segment.size() >= 3 && segment.back() == '}';
        const std::string_view name = closed ? segment.substr(1, segment.size() - 2) : "";
        if (!closed || !std::all_of(name.begin(), name.end(), is_name_char)) {
          fail(text, "invalid placeholder " + q(segment) +
                         " (expected {name} with a name of [A-Za-z0-9_])");
        }
        pattern.segments.emplace_back(segment);
        continue;
      }
      if (segment.find_first_of("*{}") != std::string_view::npos) {
        fail(text, "partial wildcard in segment " + q(segment) +
                       " (\"*\", \"**\" and \"{name}\" must be whole segments)");
      }
      pattern.segments.push_back(canonical_literal(text, segment));
    }
  }

  pattern.text = pattern.method;
  pattern.text.push_back(' ');
  if (pattern.segments.empty()) {
    pattern.text.append(pattern.tail ? "/**" : "/");
  } else {
    pattern.text.append(join_path(pattern.segments));
    if (pattern.tail) pattern.text.append("/**");
  }
  return pattern;
}

EndpointTable::EndpointTable(std::vector<EndpointPattern> patterns) : size_(patterns.size()) {
  if (patterns.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("EndpointTable: too many patterns (" + std::to_string(patterns.size()) +
                            ")");
  }
  struct Ranked {
    WildcardRule rule;
    std::size_t literals = 0;
    std::size_t wildcards = 0;
  };
  std::vector<Ranked> method_ranked;
  std::vector<Ranked> any_ranked;

  for (std::size_t i = 0; i < patterns.size(); ++i) {
    EndpointPattern& p = patterns[i];
    const auto index = static_cast<std::uint32_t>(i);
    const bool any_method = p.method == "*";
    const auto wildcards = static_cast<std::size_t>(
        std::count_if(p.segments.begin(), p.segments.end(),
                      [](const std::string& s) { return is_wildcard_segment(s); }));
    if (wildcards == 0 && !p.tail) {
      ExactEntry& entry = exact_[join_path(p.segments)];
      if (any_method) {
        if (!entry.any) entry.any = index;
      } else if (std::none_of(entry.methods.begin(), entry.methods.end(),
                              [&](const auto& m) { return m.first == p.method; })) {
        entry.methods.emplace_back(std::move(p.method), index);
      }
      continue;
    }
    Ranked ranked;
    ranked.rule.tail = p.tail;
    ranked.rule.index = index;
    ranked.rule.any_method = any_method;
    ranked.rule.method = std::move(p.method);
    ranked.rule.segment_count = p.segments.size();
    // "**" counts as a wildcard segment, so "/users/{id}" beats "/users/**"
    // (criterion 3 ties, criterion 4 decides).
    ranked.wildcards = wildcards + (p.tail ? 1 : 0);
    ranked.literals = p.segments.size() - wildcards;
    std::size_t k = 0;
    for (; k < p.segments.size() && !is_wildcard_segment(p.segments[k]); ++k) {
      ranked.rule.prefix.push_back('/');
      ranked.rule.prefix.append(p.segments[k]);
    }
    for (; k < p.segments.size(); ++k) {
      const bool wildcard = is_wildcard_segment(p.segments[k]);
      ranked.rule.rest.push_back(
          Segment{wildcard ? std::string() : std::move(p.segments[k]), wildcard});
    }
    (any_method ? any_ranked : method_ranked).push_back(std::move(ranked));
  }

  // Precedence within one method class (see the header); stable, so equal
  // ranks keep config order and the first match in the scan is the best.
  const auto more_specific = [](const Ranked& a, const Ranked& b) {
    if (a.literals != b.literals) return a.literals > b.literals;
    if (a.wildcards != b.wildcards) return a.wildcards < b.wildcards;
    return !a.rule.tail && b.rule.tail;
  };
  for (auto* ranked : {&method_ranked, &any_ranked}) {
    std::stable_sort(ranked->begin(), ranked->end(), more_specific);
    auto& out = ranked == &method_ranked ? method_wildcards_ : any_wildcards_;
    out.reserve(ranked->size());
    for (auto& r : *ranked) out.push_back(std::move(r.rule));
  }
}

std::optional<std::uint32_t> EndpointTable::scan(const std::vector<WildcardRule>& rules,
                                                 std::string_view method, std::string_view path,
                                                 std::size_t segment_count) noexcept {
  for (const WildcardRule& rule : rules) {
    if (!rule.any_method && rule.method != method) continue;
    if (rule.tail ? segment_count < rule.segment_count : segment_count != rule.segment_count) {
      continue;
    }
    // `pos` is where the next "/segment" starts (or path.size()).
    if (!path.starts_with(rule.prefix)) continue;
    std::size_t pos = rule.prefix.size();
    bool matched = true;
    for (const Segment& segment : rule.rest) {
      if (pos >= path.size() || path[pos] != '/') {
        matched = false;
        break;
      }
      const std::size_t start = pos + 1;
      std::size_t end = path.find('/', start);
      if (end == std::string_view::npos) end = path.size();
      if (!segment.wildcard && path.substr(start, end - start) != segment.literal) {
        matched = false;
        break;
      }
      pos = end;
    }
    // The prefix (or the last segment) must end at a segment boundary.
    if (matched && (pos == path.size() || path[pos] == '/')) return rule.index;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> EndpointTable::match(std::string_view method,
                                                  std::string_view normalized_path) const noexcept {
  // Order follows the precedence in the header: an exact-method literal
  // pattern beats every exact-method wildcard pattern (it has the most
  // literals a match can have, and no "**"), which beat every "*" pattern.
  const ExactEntry* entry = nullptr;
  if (const auto it = exact_.find(normalized_path); it != exact_.end()) {
    entry = &it->second;
    for (const auto& [m, index] : entry->methods) {
      if (m == method) return index;
    }
  }
  if (method_wildcards_.empty() && any_wildcards_.empty()) {
    return entry != nullptr ? entry->any : std::nullopt;
  }
  const std::size_t count = count_segments(normalized_path);
  if (auto found = scan(method_wildcards_, method, normalized_path, count)) return found;
  if (entry != nullptr && entry->any) return entry->any;
  return scan(any_wildcards_, method, normalized_path, count);
}

}  // namespace ratelimit::policy
