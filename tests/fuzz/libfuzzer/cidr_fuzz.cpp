// cidr_fuzz: libFuzzer target for ratelimit::policy's IpAddress, parse_cidr
// and CidrSet. Each input is used twice:
//
// 1. As text: parsed as a CIDR and as an address. Whatever parses must
//    round-trip (to_string, then parse, gives the same value and the same
//    text), a parsed address must also parse as a /32 or /128, and looking it
//    up in a small fixed CidrSet must agree with a linear scan. Whatever does
//    not parse must fail with InvalidCidr quoting the input; any other
//    exception escapes and counts as a crash.
// 2. As bytes: records of 6 bytes (kind, prefix length, 4 address bytes) make
//    up to 32 ranges, nested, disjoint or duplicated, in both families and
//    around ::ffff:0:0/96. A CidrSet built from them must agree with a linear
//    scan on every range's first and last address and their neighbours.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
//       tests/fuzz/libfuzzer/cidr_fuzz.cpp src/policy/cidr_set.cpp -o cidr_fuzz
//   cp -r tests/fuzz/corpus/cidr /tmp/cidr-corpus && ./cidr_fuzz /tmp/cidr-corpus

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ratelimit/policy/cidr_set.hpp"
#include "support/policy_reference.hpp"

namespace {

using ratelimit::policy::CidrRange;
using ratelimit::policy::CidrSet;
using ratelimit::policy::InvalidCidr;
using ratelimit::policy::IpAddress;
using ratelimit::policy::reference::Bytes;
using ratelimit::policy::reference::Ranges;

constexpr std::size_t kRecordSize = 6;
constexpr std::size_t kMaxRecords = 32;

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "cidr_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void require(bool ok, const char* what, std::string_view detail) {
  if (!ok) fail(what, detail);
}

using ratelimit::policy::reference::bits128;

/// The library's longest match must equal the reference scan, and each
/// range's contains must agree with the reference on the way.
std::optional<std::uint32_t> brute_force(const Ranges& ranges, const IpAddress& a) {
  for (const auto& entry : ranges) {
    if (entry.first.contains(a) != ratelimit::policy::reference::contains(entry.first, a)) {
      fail("contains differs from reference", entry.first.to_string() + " " + a.to_string());
    }
  }
  return ratelimit::policy::reference::longest_match(ranges, a);
}

void check_lookup(const CidrSet& set, const Ranges& ranges, const IpAddress& a) {
  if (set.longest_match(a) != brute_force(ranges, a)) {
    fail("longest_match differs from linear scan", a.to_string());
  }
}

using ratelimit::policy::reference::fill_host_bits;
using ratelimit::policy::reference::step;

const Ranges& fixed_ranges() {
  static const Ranges ranges = [] {
    Ranges r;
    std::uint32_t payload = 0;
    for (const char* text : {"0.0.0.0/0",
                             "10.0.0.0/8",
                             "10.1.0.0/16",
                             "10.1.1.0/24",
                             "10.1.1.1",
                             "192.168.0.0/16",
                             "192.168.0.0/24",
                             "192.168.1.0/24",
                             "255.255.255.0/24",
                             "255.255.255.255",
                             "::/0",
                             "::/80",
                             "::1",
                             "2001:db8::/32",
                             "2001:db8:1::/48",
                             "2001:db8:1::1",
                             "fe80::/10",
                             "ffff::/16",
                             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                             "10.0.0.0/8"}) {
      r.emplace_back(ratelimit::policy::parse_cidr(text), payload++);
    }
    return r;
  }();
  return ranges;
}

const CidrSet& fixed_set() {
  static const CidrSet set(fixed_ranges());
  return set;
}

void check_text(std::string_view text) {
  const Ranges& ranges = fixed_ranges();
  const CidrSet& set = fixed_set();
  std::optional<CidrRange> range;
  try {
    range = ratelimit::policy::parse_cidr(text);
  } catch (const InvalidCidr& e) {
    // The message is printable ASCII (the input's other bytes escaped), so
    // what() is the whole of it; a plain input is quoted as is.
    const std::string_view message = e.what();
    require(
        std::all_of(message.begin(), message.end(), [](char c) { return c >= 0x20 && c < 0x7f; }),
        "error is not printable ASCII", message);
    const bool plain = text.size() <= 128 && std::all_of(text.begin(), text.end(), [](char c) {
                         return c >= 0x20 && c < 0x7f && c != '\\';
                       });
    const std::string prefix =
        plain ? "invalid CIDR '" + std::string(text) + "': " : std::string("invalid CIDR '");
    require(message.substr(0, prefix.size()) == prefix, "error does not quote the input", message);
    require(message.size() > prefix.size(), "error names no problem", message);
  }
  if (range) {
    const std::string canonical = range->to_string();
    require(range->prefix_length >= 0 && range->prefix_length <= (range->base.is_v4() ? 32 : 128),
            "prefix length out of range", canonical);
    require(fill_host_bits(range->base, bits128(*range), false) == range->base, "host bits set",
            canonical);
    const CidrRange again = ratelimit::policy::parse_cidr(canonical);
    require(again == *range, "CIDR does not round-trip", canonical);
    require(again.to_string() == canonical, "CIDR text is not canonical", canonical);
    require(range->contains(range->base), "range does not contain its base", canonical);
    check_lookup(set, ranges, range->base);
    check_lookup(set, ranges, fill_host_bits(range->base, bits128(*range), true));
  }
  const std::optional<IpAddress> address = IpAddress::parse(text);
  if (address) {
    const std::string canonical = address->to_string();
    const std::optional<IpAddress> again = IpAddress::parse(canonical);
    require(again == address, "address does not round-trip", canonical);
    require(again->to_string() == canonical, "address text is not canonical", canonical);
    require(address->is_v4() == (canonical.find(':') == std::string::npos),
            "family does not match the text", canonical);
    require(range.has_value() && *range == CidrRange{*address, address->is_v4() ? 32 : 128},
            "a bare address is not a full-length range", canonical);
    check_lookup(set, ranges, *address);
  } else {
    require(!range || text.find('/') != std::string_view::npos,
            "parse_cidr accepts a bare address that IpAddress::parse rejects", text);
  }
}

/// One range from a 6-byte record: kind, prefix length, 4 address bytes.
CidrRange record_range(const std::uint8_t* record) {
  const std::uint8_t* a = record + 2;
  Bytes b{};
  int bits = 0;
  switch (record[0] % 4) {
    case 0:
    case 1:  // IPv4
      b[10] = 0xff;
      b[11] = 0xff;
      std::copy(a, a + 4, b.begin() + 12);
      bits = 96 + record[1] % 33;
      break;
    case 2:  // IPv6, the bytes repeated from the top
      for (std::size_t i = 0; i < 16; ++i) b[i] = a[i % 4];
      bits = record[1] % 129;
      break;
    default:  // IPv6 near ::ffff:0:0/96: ::XXXX:XXXX:XXXX
      for (std::size_t i = 10; i < 16; ++i) b[i] = a[(i - 10) % 4];
      bits = record[1] % 129;
      break;
  }
  const IpAddress base = fill_host_bits(IpAddress::from_bytes(b), bits, false);
  // A base in ::ffff:0:0/96 is IPv4: only possible here with bits >= 96.
  return {base, base.is_v4() ? bits - 96 : bits};
}

void check_records(const std::uint8_t* data, std::size_t size) {
  Ranges ranges;
  for (std::size_t at = 0; at + kRecordSize <= size && ranges.size() < kMaxRecords;
       at += kRecordSize) {
    ranges.emplace_back(record_range(data + at), static_cast<std::uint32_t>(ranges.size()));
  }
  const CidrSet set(ranges);
  std::vector<std::pair<IpAddress, int>> distinct;
  for (const auto& [range, payload] : ranges) distinct.emplace_back(range.base, bits128(range));
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  require(set.size() == distinct.size(), "size() is not the number of distinct ranges", "");
  for (const auto& [range, payload] : ranges) {
    const IpAddress first = range.base;
    const IpAddress last = fill_host_bits(range.base, bits128(range), true);
    for (const IpAddress& a : {first, last, step(first, -1), step(last, 1)}) {
      check_lookup(set, ranges, a);
    }
  }
  check_lookup(set, ranges, IpAddress{});
  check_lookup(set, ranges, IpAddress::from_v4(0));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_text(std::string_view(reinterpret_cast<const char*>(data), size));
  check_records(data, size);
  return 0;
}
