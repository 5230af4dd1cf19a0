#pragma once
/// @file cidr_set.hpp
/// IP addresses, CIDR ranges, and an immutable longest-prefix-match set for allow/deny lists.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ratelimit::policy {

/// An IPv4 or IPv6 address. IPv4 is kept as an IPv4-mapped IPv6 address
/// (`::ffff:a.b.c.d`), so one 128-bit key space serves both families;
/// `is_v4()` tells which one an address belongs to. A plain value: cheap to
/// copy, immutable, and safe to share between threads. Default-constructed, it
/// is the IPv6 unspecified address `::`.
class IpAddress {
 public:
  IpAddress() = default;

  /// Parses "1.2.3.4", "::1", "2001:db8::1", or "::ffff:1.2.3.4" (which is the
  /// IPv4 address 1.2.3.4). Strict: rejects zones ("fe80::1%eth0"), brackets,
  /// ports, whitespace, a prefix ("/8"), IPv4 octets with a leading zero
  /// ("01.2.3.4" is octal to some parsers), and anything inet_pton rejects.
  /// Returns nullopt when the text is not exactly one address.
  [[nodiscard]] static std::optional<IpAddress> parse(std::string_view text) noexcept;
  /// The IPv4 address whose dotted form is a.b.c.d for `v4 == a << 24 | b << 16 | c << 8 | d`.
  [[nodiscard]] static IpAddress from_v4(std::uint32_t v4) noexcept;
  /// The address with these 16 bytes, network order (v4-mapped bytes give an IPv4 address).
  [[nodiscard]] static IpAddress from_bytes(const std::array<std::uint8_t, 16>& bytes) noexcept;

  /// True for an IPv4 address (stored as ::ffff:a.b.c.d).
  [[nodiscard]] bool is_v4() const noexcept;
  /// The IPv4 address as a host-order integer (a << 24 | ...). Meaningful only if `is_v4()`.
  [[nodiscard]] std::uint32_t v4() const noexcept;
  /// The 16 bytes in network order; an IPv4 address reads ::ffff:a.b.c.d.
  [[nodiscard]] const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }
  /// Canonical text: dotted quad for IPv4, RFC 5952 (inet_ntop) for IPv6.
  /// `parse(to_string())` gives this address back.
  [[nodiscard]] std::string to_string() const;

  /// Orders by the 16 bytes, so all IPv4 addresses sort together inside ::ffff:0:0/96.
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
};

/// A CIDR range: the addresses whose first `prefix_length` bits equal those of
/// `base`. The prefix length counts in the family of `base`: 0..32 for IPv4,
/// 0..128 for IPv6. An IPv4 range a.b.c.d/n is the IPv6 range
/// ::ffff:a.b.c.d/(96 + n), and ranges compare bit by bit in that single key
/// space: an IPv6 range covering ::ffff:0:0/96 (for example ::/0) contains
/// every IPv4 address. `parse_cidr` and `CidrSet` accept only ranges whose
/// host bits (after the prefix) are zero.
struct CidrRange {
  IpAddress base;
  int prefix_length = 0;  ///< 0..32 if `base.is_v4()`, else 0..128.

  /// True if `address` lies in the range. A prefix length out of range is clamped.
  [[nodiscard]] bool contains(const IpAddress& address) const noexcept;
  /// "10.0.0.0/8", "2001:db8::/32": canonical base, then the prefix length.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const CidrRange&, const CidrRange&) = default;
};

/// Thrown for a CIDR that cannot be parsed or is not canonical; the message
/// quotes the input and names the problem.
class InvalidCidr : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Parses "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128).
/// The prefix length counts in the notation of the text, so
/// "::ffff:10.0.0.0/104" is 10.0.0.0/8. Throws InvalidCidr, quoting the input,
/// for an empty text, a missing or non-numeric prefix length (or one with a
/// leading zero), a prefix length above 32 (IPv4) or 128 (IPv6), a bad address
/// (naming a zone, brackets, port, whitespace or a leading zero when it sees
/// one), and host bits set beyond the prefix ("10.0.0.1/8: host bits are set;
/// did you mean 10.0.0.0/8?").
[[nodiscard]] CidrRange parse_cidr(std::string_view text);

/// An immutable longest-prefix-match set of CIDR ranges, each carrying a
/// payload (typically an index into the caller's table of rules). Built once;
/// afterwards `longest_match` may be called from any number of threads
/// concurrently, without locks.
///
/// Layout: CIDR ranges are either nested or disjoint, so the constructor
/// flattens them into a sorted array of disjoint intervals, each mapped to the
/// payload of its most specific covering range; a lookup is one branchless
/// binary search, O(log n). IPv4 keys (32-bit) and IPv6 keys (128-bit) live in
/// separate arrays, so IPv4 lookups touch only small keys. Memory: at most
/// 2n + 1 intervals per family, 12 bytes each for IPv4 and 24 for IPv6.
class CidrSet final {
 public:
  /// An empty set: every lookup misses.
  CidrSet() = default;
  /// Builds the set. When the same range appears more than once, the later
  /// entry's payload wins. Throws InvalidCidr (before building anything) for a
  /// range whose prefix length is out of range or whose host bits are set.
  /// O(n log n).
  explicit CidrSet(std::vector<std::pair<CidrRange, std::uint32_t>> ranges);

  /// Payload of the most specific range containing `address`, if any.
  /// Thread-safe; does not allocate.
  [[nodiscard]] std::optional<std::uint32_t> longest_match(const IpAddress& address) const noexcept;
  /// Number of distinct ranges (duplicates counted once).
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  // Interval i covers keys [starts[i], starts[i + 1]) (the last one up to the
  // top of the key space); starts[0] == 0 whenever the set is non-empty.
  // values[i] is 0 when no range covers interval i, else 2^32 | payload.
  std::vector<std::uint32_t> v4_starts_;
  std::vector<std::uint64_t> v4_values_;
  // IPv6 keys as (high 64 bits, low 64 bits); IPv4-mapped keys never looked up here.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> v6_starts_;
  std::vector<std::uint64_t> v6_values_;
  std::size_t size_ = 0;
};

}  // namespace ratelimit::policy
