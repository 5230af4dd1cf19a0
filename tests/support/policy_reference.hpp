#pragma once
// Reference models for the policy's lookup structures, written for clarity
// and independently of the library: longest-prefix match by a bit-by-bit
// linear scan, endpoint matching by ranking every pattern. The unit tests and
// the libFuzzer targets compare the library against them.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "ratelimit/policy/cidr_set.hpp"
#include "ratelimit/policy/endpoint_table.hpp"

namespace ratelimit::policy::reference {

using Ranges = std::vector<std::pair<CidrRange, std::uint32_t>>;
using Bytes = std::array<std::uint8_t, 16>;

/// The range's prefix length in the 128-bit space (IPv4 is ::ffff:0:0/96).
inline int bits128(const CidrRange& r) {
  return r.base.is_v4() ? 96 + r.prefix_length : r.prefix_length;
}

inline bool bit(const Bytes& b, int i) {
  return ((b[static_cast<std::size_t>(i / 8)] >> (7 - i % 8)) & 1) != 0;
}

/// Byte-then-bit containment, independent of the library's masks.
inline bool contains(const CidrRange& r, const IpAddress& a) {
  const int bits = bits128(r);
  const auto whole_bytes = static_cast<std::ptrdiff_t>(bits / 8);
  if (!std::equal(a.bytes().begin(), a.bytes().begin() + whole_bytes, r.base.bytes().begin()))
    return false;
  for (int i = bits / 8 * 8; i < bits; ++i) {
    if (bit(r.base.bytes(), i) != bit(a.bytes(), i)) return false;
  }
  return true;
}

/// Linear scan: the payload of the longest containing range, the later one on a tie.
inline std::optional<std::uint32_t> longest_match(const Ranges& ranges, const IpAddress& a) {
  int best = -1;
  std::optional<std::uint32_t> payload;
  for (const auto& [range, value] : ranges) {
    if (contains(range, a) && bits128(range) >= best) {
      best = bits128(range);
      payload = value;
    }
  }
  return payload;
}

/// `a` with the bits after the first `bits` cleared (`ones` false) or set.
inline IpAddress fill_host_bits(const IpAddress& a, int bits, bool ones) {
  Bytes b = a.bytes();
  for (int i = bits; i < 128; ++i) {
    const auto mask = static_cast<std::uint8_t>(1u << (7 - i % 8));
    auto& byte = b[static_cast<std::size_t>(i / 8)];
    byte = ones ? static_cast<std::uint8_t>(byte | mask) : static_cast<std::uint8_t>(byte & ~mask);
  }
  return IpAddress::from_bytes(b);
}

/// The next (+1) or previous (-1) address in the 128-bit key space, wrapping.
inline IpAddress step(const IpAddress& a, int direction) {
  Bytes b = a.bytes();
  for (std::size_t i = 16; i-- > 0;) {
    const std::uint8_t before = b[i];
    b[i] = static_cast<std::uint8_t>(before + direction);
    if ((direction > 0 && before != 0xff) || (direction < 0 && before != 0)) break;
  }
  return IpAddress::from_bytes(b);
}

/// Every pattern ranked by EndpointTable's precedence (exact method, more
/// literal segments, fewer wildcards, no "**", earlier rule); `path` is a
/// normalized path starting with '/'.
inline std::optional<std::uint32_t> endpoint_match(const std::vector<EndpointPattern>& patterns,
                                                   std::string_view method, std::string_view path) {
  std::vector<std::string_view> segments;
  for (std::size_t pos = 1; pos <= path.size() && path != "/";) {
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    segments.push_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  std::optional<std::uint32_t> best;
  std::tuple<int, std::size_t, std::size_t, int> best_rank{};
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    const EndpointPattern& p = patterns[i];
    if (p.method != "*" && p.method != method) continue;
    if (p.tail ? segments.size() < p.segments.size() : segments.size() != p.segments.size())
      continue;
    bool ok = true;
    std::size_t literals = 0;
    for (std::size_t k = 0; k < p.segments.size() && ok; ++k) {
      const bool wildcard = p.segments[k] == "*" || p.segments[k].front() == '{';
      if (!wildcard) {
        ++literals;
        ok = p.segments[k] == segments[k];
      }
    }
    if (!ok) continue;
    const std::tuple<int, std::size_t, std::size_t, int> rank{
        p.method != "*", literals, ~(p.segments.size() - literals + (p.tail ? 1 : 0)), !p.tail};
    if (!best || rank > best_rank) {
      best = static_cast<std::uint32_t>(i);
      best_rank = rank;
    }
  }
  return best;
}

}  // namespace ratelimit::policy::reference
