#include "ratelimit/policy/cidr_set.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace ratelimit::policy {

namespace {

/// (high 64 bits, low 64 bits) of an address, compared as one unsigned number.
using Key128 = std::pair<std::uint64_t, std::uint64_t>;

/// Longest text an address can have ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255").
constexpr std::size_t kMaxAddressText = 45;
/// Where an IPv4 address sits inside the IPv6 key space: ::ffff:0:0/96.
constexpr int kV4MappedPrefix = 96;
constexpr std::uint64_t kV4MappedHigh = 0;
constexpr std::uint64_t kV4MappedLowTag = std::uint64_t{0xffff} << 32;
/// Tag that marks a value slot as holding a payload (the low 32 bits).
constexpr std::uint64_t kHasPayload = std::uint64_t{1} << 32;

std::uint64_t load_be64(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

void store_be64(std::uint64_t v, std::uint8_t* p) noexcept {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
}

Key128 to_key(const IpAddress& a) noexcept {
  return {load_be64(a.bytes().data()), load_be64(a.bytes().data() + 8)};
}

IpAddress from_key(const Key128& k) noexcept {
  std::array<std::uint8_t, 16> b{};
  store_be64(k.first, b.data());
  store_be64(k.second, b.data() + 8);
  return IpAddress::from_bytes(b);
}

/// The mask keeping the first `bits` (0..128) bits of a 128-bit key.
Key128 prefix_mask(int bits) noexcept {
  constexpr std::uint64_t kAll = std::numeric_limits<std::uint64_t>::max();
  const auto mask64 = [](int n) noexcept {  // first n (0..64) bits of 64
    return n <= 0 ? std::uint64_t{0} : n >= 64 ? kAll : kAll << (64 - n);
  };
  return {mask64(bits), mask64(bits - 64)};
}

Key128 operator&(const Key128& a, const Key128& b) noexcept {
  return {a.first & b.first, a.second & b.second};
}

Key128 operator|(const Key128& a, const Key128& b) noexcept {
  return {a.first | b.first, a.second | b.second};
}

Key128 operator~(const Key128& a) noexcept { return {~a.first, ~a.second}; }

/// The prefix length of `range` counted over all 128 bits (IPv4 ranges sit
/// under ::ffff:0:0/96), clamped to the valid range.
int prefix128(const CidrRange& range) noexcept {
  return range.base.is_v4() ? kV4MappedPrefix + std::clamp(range.prefix_length, 0, 32)
                            : std::clamp(range.prefix_length, 0, 128);
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_address_char(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}

constexpr std::string_view kHexDigits = "0123456789abcdef";
/// Longest piece of input an error message repeats.
constexpr std::size_t kMaxQuoted = 128;

std::string describe_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return "unexpected character '" + std::string(1, c) + "'";
  return std::string("unexpected byte 0x") + kHexDigits[u >> 4] + kHexDigits[u & 0xf];
}

/// `text` in single quotes, printable ASCII only: other bytes (and the
/// backslash) escaped as \xHH, so that a NUL or a terminal escape in the input
/// cannot cut or garble the message; cut after kMaxQuoted bytes.
std::string quoted(std::string_view text) {
  std::string out = "'";
  for (const char c : text.substr(0, kMaxQuoted)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += kHexDigits[u >> 4];
      out += kHexDigits[u & 0xf];
    }
  }
  out += '\'';
  if (text.size() > kMaxQuoted) out += " (cut, " + std::to_string(text.size()) + " bytes in all)";
  return out;
}

/// The first dotted-quad octet with a leading zero in `dotted`, if any.
std::optional<std::string_view> octet_with_leading_zero(std::string_view dotted) noexcept {
  while (!dotted.empty()) {
    const std::size_t dot = dotted.find('.');
    const std::string_view octet = dotted.substr(0, dot);
    if (octet.size() > 1 && octet[0] == '0') return octet;
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  return std::nullopt;
}

/// Parses one address. On failure returns nullopt and, if `problem` is not
/// null, stores what is wrong with the text.
std::optional<IpAddress> parse_address(std::string_view text, std::string* problem) {
  const auto fail = [problem](std::string what) -> std::optional<IpAddress> {
    if (problem != nullptr) *problem = std::move(what);
    return std::nullopt;
  };
  if (text.empty()) return fail("empty address");
  for (const char c : text) {
    if (is_address_char(c)) continue;
    if (problem == nullptr) return std::nullopt;  // IpAddress::parse: skip the diagnosis
    if (is_space(c)) return fail("whitespace is not allowed");
    if (c == '%') return fail("a zone index ('%') is not allowed");
    if (c == '[' || c == ']') return fail("brackets are not allowed");
    if (c == '/') return fail("a prefix length is not allowed here");
    return fail(describe_char(c));
  }
  const std::size_t colons = static_cast<std::size_t>(std::count(text.begin(), text.end(), ':'));
  const std::size_t last_colon = text.rfind(':');
  if (colons == 1 && text.find('.') < last_colon) return fail("a port is not allowed");
  if (text.size() > kMaxAddressText) return fail("too long to be an address");
  // inet_pton does not reject leading zeros everywhere; "010.0.0.1" is octal to inet_aton.
  const std::string_view dotted =
      last_colon == std::string_view::npos ? text : text.substr(last_colon + 1);
  if (dotted.find('.') != std::string_view::npos) {
    if (const auto octet = octet_with_leading_zero(dotted)) {
      return fail("IPv4 octet '" + std::string(*octet) + "' has a leading zero");
    }
  }
  std::array<char, kMaxAddressText + 1> buffer{};
  std::memcpy(buffer.data(), text.data(), text.size());
  std::array<std::uint8_t, 16> bytes{};
  if (colons == 0) {
    std::array<std::uint8_t, 4> v4{};
    if (inet_pton(AF_INET, buffer.data(), v4.data()) != 1) return fail("not a valid IPv4 address");
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    std::copy(v4.begin(), v4.end(), bytes.begin() + 12);
  } else if (inet_pton(AF_INET6, buffer.data(), bytes.data()) != 1) {
    return fail("not a valid IPv6 address");
  }
  return IpAddress::from_bytes(bytes);
}

[[noreturn]] void throw_invalid(std::string_view text, const std::string& what) {
  throw InvalidCidr("invalid CIDR " + quoted(text) + ": " + what);
}

/// The range with base `key` and 128-bit prefix length `bits`, in the
/// family's own prefix length (the key must have no host bits).
CidrRange make_range(const Key128& key, int bits) noexcept {
  const IpAddress base = from_key(key);
  return {base, base.is_v4() ? bits - kV4MappedPrefix : bits};
}

/// One range as an interval of keys, before flattening.
template <class Key>
struct Interval {
  Key lo;
  Key hi;
  int bits;             // 128-bit prefix length: more bits, more specific
  std::uint64_t value;  // kHasPayload | payload
};

std::uint32_t successor(std::uint32_t k) noexcept { return k + 1; }

bool is_top(std::uint32_t k) noexcept { return k == std::numeric_limits<std::uint32_t>::max(); }

bool is_top(const Key128& k) noexcept {
  return k.first == std::numeric_limits<std::uint64_t>::max() &&
         k.second == std::numeric_limits<std::uint64_t>::max();
}

Key128 successor(const Key128& k) noexcept {
  return k.second == std::numeric_limits<std::uint64_t>::max() ? Key128{k.first + 1, 0}
                                                               : Key128{k.first, k.second + 1};
}

/// Flattens nested-or-disjoint intervals into disjoint ones, each carrying the
/// value of its most specific covering interval (0 where none covers it):
/// sorted by (lo, bits), an interval opens inside every interval on the stack,
/// and when an interval ends the one below it on the stack resumes. Adjacent
/// pieces with the same value are merged.
template <class Key>
void flatten(std::vector<Interval<Key>>& intervals, std::vector<Key>& starts,
             std::vector<std::uint64_t>& values) {
  std::sort(intervals.begin(), intervals.end(), [](const Interval<Key>& a, const Interval<Key>& b) {
    return a.lo != b.lo ? a.lo < b.lo : a.bits < b.bits;
  });
  starts.clear();
  values.clear();
  if (intervals.empty()) return;
  starts.reserve(2 * intervals.size() + 1);
  values.reserve(2 * intervals.size() + 1);
  const auto emit = [&](const Key& start, std::uint64_t value) {
    while (!starts.empty() && starts.back() == start) {
      starts.pop_back();
      values.pop_back();
    }
    if (!values.empty() && values.back() == value) return;
    starts.push_back(start);
    values.push_back(value);
  };
  const auto top_value = [](const std::vector<const Interval<Key>*>& stack) {
    return stack.empty() ? std::uint64_t{0} : stack.back()->value;
  };
  std::vector<const Interval<Key>*> stack;
  emit(Key{}, 0);
  for (const Interval<Key>& interval : intervals) {
    while (!stack.empty() && stack.back()->hi < interval.lo) {
      const Key next = successor(stack.back()->hi);  // no overflow: hi < lo
      stack.pop_back();
      emit(next, top_value(stack));
    }
    stack.push_back(&interval);
    emit(interval.lo, interval.value);
  }
  while (!stack.empty()) {
    const Key hi = stack.back()->hi;
    stack.pop_back();
    if (is_top(hi)) continue;  // nothing follows the end of the key space
    emit(successor(hi), top_value(stack));
  }
}

/// Index of the last element of `starts` (non-empty, starts[0] == 0) that is
/// <= key. Branchless: the loop runs log2(n) times whatever the data.
template <class Key>
std::size_t last_not_above(const std::vector<Key>& starts, const Key& key) noexcept {
  const Key* base = starts.data();
  std::size_t n = starts.size();
  while (n > 1) {
    const std::size_t half = n / 2;
    base = base[half] <= key ? base + half : base;
    n -= half;
  }
  return static_cast<std::size_t>(base - starts.data());
}

std::optional<std::uint32_t> to_payload(std::uint64_t value) noexcept {
  if (value == 0) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) noexcept {
  return parse_address(text, nullptr);
}

IpAddress IpAddress::from_v4(std::uint32_t v4) noexcept {
  IpAddress a;
  a.bytes_[10] = 0xff;
  a.bytes_[11] = 0xff;
  for (int i = 15; i >= 12; --i) {
    a.bytes_[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v4 & 0xff);
    v4 >>= 8;
  }
  return a;
}

IpAddress IpAddress::from_bytes(const std::array<std::uint8_t, 16>& bytes) noexcept {
  IpAddress a;
  a.bytes_ = bytes;
  return a;
}

bool IpAddress::is_v4() const noexcept {
  const Key128 k = to_key(*this);
  return k.first == kV4MappedHigh && (k.second >> 32) == 0xffff;
}

std::uint32_t IpAddress::v4() const noexcept {
  return static_cast<std::uint32_t>(load_be64(bytes_.data() + 8));
}

std::string IpAddress::to_string() const {
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  if (is_v4()) {
    // By hand: glibc's inet_ntop formats IPv4 with sprintf, and proxy mode
    // renders the caller's address on every request.
    std::string out;
    out.reserve(15);
    for (std::size_t i = 12; i < 16; ++i) {
      if (i > 12) out += '.';
      const unsigned octet = bytes_[i];
      if (octet >= 100) out += static_cast<char>('0' + octet / 100);
      if (octet >= 10) out += static_cast<char>('0' + octet / 10 % 10);
      out += static_cast<char>('0' + octet % 10);
    }
    return out;
  }
  (void)inet_ntop(AF_INET6, bytes_.data(), buffer.data(), buffer.size());
  return buffer.data();
}

bool CidrRange::contains(const IpAddress& address) const noexcept {
  const Key128 mask = prefix_mask(prefix128(*this));
  return (to_key(address) & mask) == (to_key(base) & mask);
}

std::string CidrRange::to_string() const {
  return base.to_string() + "/" + std::to_string(prefix_length);
}

CidrRange parse_cidr(std::string_view text) {
  if (text.empty()) throw_invalid(text, "empty");
  const std::size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  std::string problem;
  const std::optional<IpAddress> address = parse_address(address_text, &problem);
  if (!address) throw_invalid(text, "bad address " + quoted(address_text) + ": " + problem);
  const bool v6_notation = address_text.find(':') != std::string_view::npos;
  const int max_prefix = v6_notation ? 128 : 32;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty()) throw_invalid(text, "missing prefix length after '/'");
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      throw_invalid(text, "prefix length " + quoted(digits) + " is not a number");
    }
    if (digits.size() > 1 && digits[0] == '0') {
      throw_invalid(text, "prefix length " + quoted(digits) + " has a leading zero");
    }
    // No leading zero, so more than 3 digits is above 128 whatever they are.
    if (digits.size() <= 3) {
      prefix = 0;
      for (const char c : digits) prefix = prefix * 10 + (c - '0');
    }
    if (digits.size() > 3 || prefix > max_prefix) {
      const std::string shown = digits.size() <= kMaxQuoted
                                    ? std::string(digits)
                                    : std::string(digits.substr(0, kMaxQuoted)) + "...";
      throw_invalid(text, "prefix length " + shown + " is above " + std::to_string(max_prefix) +
                              (v6_notation ? " for an IPv6 address" : " for an IPv4 address"));
    }
  }
  const int bits = v6_notation ? prefix : kV4MappedPrefix + prefix;
  const Key128 key = to_key(*address);
  const Key128 network = key & prefix_mask(bits);
  if (network != key) {
    std::string what =
        "host bits are set; did you mean " + make_range(network, bits).to_string() + "?";
    if (address->is_v4() && v6_notation && prefix < kV4MappedPrefix) {
      // "::ffff:10.0.0.0/8": the writer likely meant an IPv4 prefix length.
      what += " (in IPv6 notation the prefix length counts all 128 bits";
      if (prefix <= 32) {
        const int v4_bits = kV4MappedPrefix + prefix;
        const CidrRange v4_range = make_range(key & prefix_mask(v4_bits), v4_bits);
        what += ": for the IPv4 range write " + v4_range.to_string() +
                " or ::ffff:" + v4_range.base.to_string() + "/" + std::to_string(v4_bits);
      }
      what += ")";
    }
    throw_invalid(text, what);
  }
  return make_range(key, bits);
}

CidrSet::CidrSet(std::vector<std::pair<CidrRange, std::uint32_t>> ranges) {
  struct Entry {
    Key128 network;
    int bits;
    std::size_t order;
    std::uint32_t payload;
  };
  std::vector<Entry> entries;
  entries.reserve(ranges.size());
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const CidrRange& range = ranges[i].first;
    const int max_prefix = range.base.is_v4() ? 32 : 128;
    if (range.prefix_length < 0 || range.prefix_length > max_prefix) {
      throw InvalidCidr("invalid CIDR '" + range.base.to_string() + "/" +
                        std::to_string(range.prefix_length) +
                        "' in CidrSet: prefix length must be 0.." + std::to_string(max_prefix));
    }
    const int bits = prefix128(range);
    const Key128 key = to_key(range.base);
    if ((key & prefix_mask(bits)) != key) {
      throw InvalidCidr("invalid CIDR '" + range.to_string() + "' in CidrSet: host bits are set");
    }
    entries.push_back({key, bits, i, ranges[i].second});
  }
  // Duplicates: keep the last occurrence of each (network, bits).
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.network != b.network) return a.network < b.network;
    return a.bits != b.bits ? a.bits < b.bits : a.order < b.order;
  });
  std::vector<Interval<std::uint32_t>> v4;
  std::vector<Interval<Key128>> v6;
  const Key128 v4_block{kV4MappedHigh, kV4MappedLowTag};
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (i + 1 < entries.size() && entries[i + 1].network == e.network &&
        entries[i + 1].bits == e.bits) {
      continue;
    }
    ++size_;
    const std::uint64_t value = kHasPayload | e.payload;
    const Key128 mask = prefix_mask(e.bits);
    if (e.bits >= kV4MappedPrefix && (e.network & prefix_mask(kV4MappedPrefix)) == v4_block) {
      const auto lo = static_cast<std::uint32_t>(e.network.second);
      const auto hi = static_cast<std::uint32_t>((e.network | ~mask).second);
      v4.push_back({lo, hi, e.bits, value});
      continue;
    }
    v6.push_back({e.network, e.network | ~mask, e.bits, value});
    // Nested or disjoint: an IPv6 range either covers all of ::ffff:0:0/96 or none of it.
    if ((v4_block & mask) == e.network) {
      v4.push_back({0, std::numeric_limits<std::uint32_t>::max(), e.bits, value});
    }
  }
  flatten(v4, v4_starts_, v4_values_);
  flatten(v6, v6_starts_, v6_values_);
  v4_starts_.shrink_to_fit();
  v4_values_.shrink_to_fit();
  v6_starts_.shrink_to_fit();
  v6_values_.shrink_to_fit();
}

std::optional<std::uint32_t> CidrSet::longest_match(const IpAddress& address) const noexcept {
  const Key128 key = to_key(address);
  if (key.first == kV4MappedHigh && (key.second >> 32) == 0xffff) {
    if (v4_starts_.empty()) return std::nullopt;
    return to_payload(
        v4_values_[last_not_above(v4_starts_, static_cast<std::uint32_t>(key.second))]);
  }
  if (v6_starts_.empty()) return std::nullopt;
  return to_payload(v6_values_[last_not_above(v6_starts_, key)]);
}

}  // namespace ratelimit::policy
