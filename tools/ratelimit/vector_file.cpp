// Conformance vector files: JSON text -> a validated Case (see vector_file.hpp).

#include "vector_file.hpp"

#include <algorithm>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>

#include <boost/json.hpp>

namespace ratelimit::cli {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string at_index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

namespace {

// Joins a limit name and a vector key into a store key. The README scopes keys
// by limit ((limit name, key) is one state), so the multi-limit vectors can use
// key "a" for every tier without the tiers sharing (or clobbering) one state.
// U+001F (unit separator) cannot appear in a limit name (rejected on load).
constexpr char kKeySeparator = '\x1f';
// ---- JSON access with locations -------------------------------------------

std::string_view kind_name(json::kind k) {
  switch (k) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "an unknown JSON value";
}

[[noreturn]] void wrong_type(const json::value& v, const std::string& path, std::string_view wanted) {
  throw VectorError(path + ": expected " + std::string(wanted) + ", got " + std::string(kind_name(v.kind())));
}

const json::object& as_object(const json::value& v, const std::string& path) {
  if (!v.is_object()) wrong_type(v, path, "an object");
  return v.get_object();
}

const json::array& as_array(const json::value& v, const std::string& path) {
  if (!v.is_array()) wrong_type(v, path, "an array");
  return v.get_array();
}

std::string as_string(const json::value& v, const std::string& path) {
  if (!v.is_string()) wrong_type(v, path, "a string");
  return std::string(v.get_string());
}

bool as_bool(const json::value& v, const std::string& path) {
  if (!v.is_bool()) wrong_type(v, path, "a boolean");
  return v.get_bool();
}

// An integer that fits in int64. Accepts 1e6-style doubles only when exact, so
// a fractional duration is reported rather than silently truncated.
std::int64_t as_int(const json::value& v, const std::string& path) {
  if (!v.is_number()) wrong_type(v, path, "an integer");
  json::error_code ec;
  const auto n = v.to_number<std::int64_t>(ec);
  if (ec) throw VectorError(path + ": " + json::serialize(v) + " is not an integer in the 64-bit range");
  return n;
}

std::int64_t as_non_negative(const json::value& v, const std::string& path) {
  const std::int64_t n = as_int(v, path);
  if (n < 0) throw VectorError(path + ": must not be negative, got " + std::to_string(n));
  return n;
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

const json::value* find(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

const json::value& require(const json::object& o, std::string_view key, const std::string& path) {
  const json::value* v = find(o, key);
  if (v == nullptr) throw VectorError("missing field '" + join(path, key) + "'");
  return *v;
}

// ---- Loading ---------------------------------------------------------------

std::string read_file(const fs::path& file) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) throw VectorError("cannot read file: " + ec.message());
  std::ifstream in(file, std::ios::binary);
  if (!in) throw VectorError("cannot open file");
  // Sized read rather than istreambuf_iterator: GCC 12 reports a false
  // -Wnull-dereference inside the iterator's inlined streambuf code.
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) throw VectorError("read error (file changed while reading?)");
  return text;
}

// Parses JSON text; a syntax error is reported with its line and column.
json::value parse_json(const std::string& text) {
  json::parser parser;
  json::error_code ec;
  const std::size_t consumed = parser.write(text.data(), text.size(), ec);
  if (ec) {
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < consumed && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw VectorError("invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(column) +
                      ": " + ec.message());
  }
  return parser.release();
}

LimitParams parse_limit_params(const json::object& o, const std::string& path) {
  LimitParams p;
  // Unknown names throw InvalidLimitSpec, whose message lists the valid ones.
  p.algorithm = parse_algorithm(as_string(require(o, "algorithm", path), join(path, "algorithm")));
  p.limit = as_int(require(o, "limit", path), join(path, "limit"));
  p.window = as_int(require(o, "window_us", path), join(path, "window_us"));
  if (const json::value* burst = find(o, "burst"); burst != nullptr && !burst->is_null()) {
    p.burst = as_int(*burst, join(path, "burst"));
  }
  if (const json::value* mode = find(o, "mode"); mode != nullptr && !mode->is_null()) {
    p.mode = parse_leaky_mode(as_string(*mode, join(path, "mode")));
  }
  return p;
}

void load_limits(const json::object& root, Case& c) {
  const json::array& limits = as_array(require(root, "limits", ""), "limits");
  if (limits.empty()) throw VectorError("limits: must name at least one limit");
  for (std::size_t i = 0; i < limits.size(); ++i) {
    const std::string path = at_index("limits", i);
    const json::object& o = as_object(limits[i], path);
    std::string name = as_string(require(o, "name", path), join(path, "name"));
    if (name.empty()) throw VectorError(join(path, "name") + ": must not be empty");
    if (name.find(kKeySeparator) != std::string::npos) {
      throw VectorError(join(path, "name") + ": must not contain U+001F");
    }
    if (std::find(c.names.begin(), c.names.end(), name) != c.names.end()) {
      throw VectorError(join(path, "name") + ": duplicate limit name '" + name + "'");
    }
    try {
      c.specs.emplace_back(parse_limit_params(o, path));
    } catch (const InvalidLimitSpec& e) {
      throw VectorError(path + " ('" + name + "'): " + e.what());
    }
    c.names.push_back(std::move(name));
  }
}

Expected parse_expected(const json::value& v, const std::string& path) {
  const json::object& o = as_object(v, path);
  const auto field = [&](std::string_view key) -> const json::value& { return require(o, key, path); };
  const auto at = [&](std::string_view key) { return join(path, key); };
  Expected e;
  e.allowed = as_bool(field("allowed"), at("allowed"));
  e.limit = as_int(field("limit"), at("limit"));
  e.remaining = as_int(field("remaining"), at("remaining"));
  e.reset_after = as_non_negative(field("reset_after_us"), at("reset_after_us"));
  const json::value& retry = field("retry_after_us");
  e.retry_after = retry.is_null() ? kInfinite : as_non_negative(retry, at("retry_after_us"));
  e.delay = as_non_negative(field("delay_us"), at("delay_us"));
  e.name = as_string(field("name"), at("name"));
  return e;
}

Op parse_op(const json::value& v, const std::string& path) {
  const std::string op = as_string(v, path);
  if (op == "check") return Op::check;
  if (op == "peek") return Op::peek;
  if (op == "reset") return Op::reset;
  throw VectorError(path + ": unknown op '" + op + "' (expected check, peek or reset)");
}

Step parse_step(const json::value& v, const std::string& path, const Case& c) {
  const json::object& o = as_object(v, path);
  Step s;
  s.op = parse_op(require(o, "op", path), join(path, "op"));
  s.at = as_int(require(o, "at_us", path), join(path, "at_us"));

  const std::string checks_path = join(path, "checks");
  const json::array& checks = as_array(require(o, "checks", path), checks_path);
  if (checks.empty()) throw VectorError(checks_path + ": must list at least one check");
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const std::string cp = at_index(checks_path, i);
    const json::object& co = as_object(checks[i], cp);
    const std::string limit = as_string(require(co, "limit", cp), join(cp, "limit"));
    const std::string key = as_string(require(co, "key", cp), join(cp, "key"));
    const auto it = std::find(c.names.begin(), c.names.end(), limit);
    if (it == c.names.end()) {
      throw VectorError(join(cp, "limit") + ": unknown limit '" + limit + "' (not in \"limits\")");
    }
    s.limits.push_back(static_cast<std::size_t>(it - c.names.begin()));
    s.store_keys.push_back(limit + kKeySeparator + key);
    s.labels.push_back(limit + ":" + key);
  }

  if (s.op == Op::reset) return s;  // a reset has no cost and no expectation

  const json::value* cost = find(o, "cost");
  if (s.op == Op::check) {
    if (cost == nullptr) throw VectorError("missing field '" + join(path, "cost") + "'");
    s.cost = as_int(*cost, join(path, "cost"));
    // Negative costs are a store error (InvalidRequest), which is worth
    // reporting from the store rather than hiding here.
  } else if (cost != nullptr && as_int(*cost, join(path, "cost")) != 0) {
    throw VectorError(join(path, "cost") + ": a peek has cost 0");
  }

  if (const json::value* expect = find(o, "expect"); expect != nullptr) {
    const std::string ep = join(path, "expect");
    const json::object& eo = as_object(*expect, ep);
    s.combined = parse_expected(require(eo, "combined", ep), join(ep, "combined"));
    if (const json::value* each = find(eo, "each"); each != nullptr) {
      const std::string xp = join(ep, "each");
      const json::array& arr = as_array(*each, xp);
      if (arr.size() != checks.size()) {
        throw VectorError(xp + ": has " + std::to_string(arr.size()) + " decisions for " +
                          std::to_string(checks.size()) + " checks");
      }
      for (std::size_t i = 0; i < arr.size(); ++i) s.each.push_back(parse_expected(arr[i], at_index(xp, i)));
    }
  }
  return s;
}

}  // namespace

Case parse_case(std::string_view text) {
  json::value root_value;
  {
    const std::string owned(text);
    root_value = parse_json(owned);
  }
  const json::object& root = as_object(root_value, "top level");
  if (const json::value* format = find(root, "format"); format != nullptr) {
    if (as_int(*format, "format") != 1) {
      throw VectorError("format: unsupported format " + json::serialize(*format) + " (this runner reads format 1)");
    }
  }
  Case c;
  load_limits(root, c);
  const json::array& steps = as_array(require(root, "steps", ""), "steps");
  for (std::size_t i = 0; i < steps.size(); ++i) c.steps.push_back(parse_step(steps[i], at_index("steps", i), c));
  return c;
}

Case load_case(const fs::path& file) { return parse_case(read_file(file)); }

}  // namespace ratelimit::cli
