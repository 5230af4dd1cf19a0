#include "ratelimit/policy/cidr_set.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/policy_reference.hpp"

namespace ratelimit::policy {
namespace {

using reference::Bytes;
using reference::Ranges;

constexpr std::uint32_t kMax32 = std::numeric_limits<std::uint32_t>::max();

IpAddress ip(std::string_view text) {
  const std::optional<IpAddress> a = IpAddress::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

std::string error_of(std::string_view text) {
  try {
    (void)parse_cidr(text);
  } catch (const InvalidCidr& e) {
    return e.what();
  }
  return {};
}

// --- A reference model, written independently of the library: bit by bit. ---

using reference::bit;
using reference::bits128;
/// The range's address with every host bit set (`ones`) or cleared.
IpAddress with_host_bits(const CidrRange& r, bool ones) { return reference::fill_host_bits(r.base, bits128(r), ones); }
using reference::step;

// --- IpAddress ---

struct AddressCase {
  std::string_view text;
  std::string_view canonical;
  bool v4;
};

TEST(IpAddress, ParsesAndPrintsCanonically) {
  const AddressCase cases[] = {
      {"1.2.3.4", "1.2.3.4", true},
      {"0.0.0.0", "0.0.0.0", true},
      {"255.255.255.255", "255.255.255.255", true},
      {"10.0.0.1", "10.0.0.1", true},
      {"::ffff:1.2.3.4", "1.2.3.4", true},
      {"::FFFF:1.2.3.4", "1.2.3.4", true},
      {"::ffff:102:304", "1.2.3.4", true},
      {"0:0:0:0:0:ffff:1.2.3.4", "1.2.3.4", true},
      {"::ffff:0:0", "0.0.0.0", true},
      {"::", "::", false},
      {"::1", "::1", false},
      {"2001:db8::1", "2001:db8::1", false},
      {"2001:DB8:0:0:0:0:0:1", "2001:db8::1", false},
      {"2001:0db8::0001", "2001:db8::1", false},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", false},
      {"fe80::1", "fe80::1", false},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
      {"::fffe:1.2.3.4", "::fffe:102:304", false},
      {"::ffff:0:1.2.3.4", "::ffff:0:102:304", false},
      {"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
       false},
  };
  for (std::size_t row = 0; row < std::size(cases); ++row) {
    const AddressCase& c = cases[row];
    SCOPED_TRACE(testing::Message() << "row " << row << ": " << c.text);
    const std::optional<IpAddress> a = IpAddress::parse(c.text);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->is_v4(), c.v4);
    EXPECT_EQ(a->to_string(), c.canonical);
    EXPECT_EQ(IpAddress::parse(a->to_string()), a);
  }
}

// to_string formats IPv4 by hand: it must agree with inet_ntop everywhere.
TEST(IpAddress, PrintsIPv4AsInetNtopDoes) {
  std::uint32_t x = 0x9e3779b9;
  for (int i = 0; i < 100000; ++i) {
    x = x * 1664525u + 1013904223u;  // an LCG walks the whole 32-bit range
    const std::uint32_t value = i < 256 ? static_cast<std::uint32_t>(i) * 0x01010101u : x;
    in_addr raw{};
    raw.s_addr = htonl(value);
    char expected[INET_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET, &raw, expected, sizeof expected), nullptr);
    const auto parsed = IpAddress::parse(expected);
    ASSERT_TRUE(parsed.has_value()) << expected;
    ASSERT_EQ(parsed->to_string(), expected);
  }
}

TEST(IpAddress, RejectsWhatIsNotExactlyOneAddress) {
  using namespace std::string_view_literals;
  const std::string_view cases[] = {
      "",
      " 1.2.3.4",
      "1.2.3.4 ",
      "1.2.3.4\n",
      "1.2.3.4\t",
      "1.2.3.4\0"sv,
      "01.2.3.4",
      "1.2.3.04",
      "1.2.3.00",
      "00.0.0.0",
      "::ffff:01.2.3.4",
      "1.2.3",
      "1.2.3.4.5",
      "1.2.3.4.",
      ".1.2.3.4",
      "1..2.3",
      "256.1.1.1",
      "1.2.3.-1",
      "1.2.3.a",
      "0x1.2.3.4",
      "1.2.3.4/32",
      "::1/128",
      "fe80::1%eth0",
      "fe80::1%1",
      "[::1]",
      "[::1]:80",
      "1.2.3.4:80",
      "::1::2",
      "12345::1",
      ":::",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "g::1",
      "::ffff:1.2.3.4.5",
      "::ffff:1.2.3",
      "1.2.3.4::",
      "0000:0000:0000:0000:0000:0000:0000:0000:0000",
      "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555",
  };
  for (std::size_t row = 0; row < std::size(cases); ++row) {
    EXPECT_FALSE(IpAddress::parse(cases[row]).has_value()) << "row " << row << ": " << cases[row];
  }
}

TEST(IpAddress, FromV4AndBytesAgreeWithParse) {
  EXPECT_EQ(IpAddress::from_v4(0x0a000001), ip("10.0.0.1"));
  EXPECT_EQ(IpAddress::from_v4(kMax32), ip("255.255.255.255"));
  EXPECT_EQ(ip("10.0.0.1").v4(), 0x0a000001u);
  Bytes loopback{};
  loopback[15] = 1;
  EXPECT_EQ(IpAddress::from_bytes(loopback), ip("::1"));
  EXPECT_EQ(ip("::1").bytes(), loopback);
  EXPECT_EQ(IpAddress{}, ip("::"));
  EXPECT_FALSE(IpAddress{}.is_v4());
}

TEST(IpAddress, OrdersByBytesWithV4InsideTheMappedBlock) {
  EXPECT_LT(ip("1.2.3.4"), ip("1.2.3.5"));
  EXPECT_LT(ip("9.255.255.255"), ip("10.0.0.0"));
  EXPECT_LT(ip("::1"), ip("0.0.0.0"));
  EXPECT_LT(ip("255.255.255.255"), ip("::1:0:0:0"));
  EXPECT_LT(ip("255.255.255.255"), ip("2001:db8::"));
}

// --- parse_cidr ---

struct CidrCase {
  std::string_view text;
  std::string_view canonical;
  int prefix_length;
  bool v4;
};

TEST(ParseCidr, ParsesRangesAndBareAddresses) {
  const CidrCase cases[] = {
      {"10.0.0.0/8", "10.0.0.0/8", 8, true},
      {"0.0.0.0/0", "0.0.0.0/0", 0, true},
      {"1.2.3.4/32", "1.2.3.4/32", 32, true},
      {"1.2.3.4", "1.2.3.4/32", 32, true},
      {"255.255.255.254/31", "255.255.255.254/31", 31, true},
      {"2001:db8::/32", "2001:db8::/32", 32, false},
      {"2001:DB8::/32", "2001:db8::/32", 32, false},
      {"::/0", "::/0", 0, false},
      {"::1", "::1/128", 128, false},
      {"::1/128", "::1/128", 128, false},
      {"::/80", "::/80", 80, false},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
       128, false},
      {"ffff::/16", "ffff::/16", 16, false},
      {"::ffff:10.0.0.0/104", "10.0.0.0/8", 8, true},
      {"::ffff:0:0/96", "0.0.0.0/0", 0, true},
      {"::ffff:1.2.3.4", "1.2.3.4/32", 32, true},
      {"::ffff:1.2.3.4/128", "1.2.3.4/32", 32, true},
  };
  for (std::size_t row = 0; row < std::size(cases); ++row) {
    const CidrCase& c = cases[row];
    SCOPED_TRACE(testing::Message() << "row " << row << ": " << c.text);
    const CidrRange r = parse_cidr(c.text);
    EXPECT_EQ(r.to_string(), c.canonical);
    EXPECT_EQ(r.prefix_length, c.prefix_length);
    EXPECT_EQ(r.base.is_v4(), c.v4);
    EXPECT_EQ(parse_cidr(r.to_string()), r);
  }
}

struct ErrorCase {
  std::string_view text;
  std::string_view problem;  // must appear in the message
};

TEST(ParseCidr, EveryErrorQuotesTheInputAndNamesTheProblem) {
  const ErrorCase cases[] = {
      {"", "empty"},
      {"10.0.0.0/", "missing prefix length after '/'"},
      {"::/", "missing prefix length after '/'"},
      {"10.0.0.0/abc", "prefix length 'abc' is not a number"},
      {"10.0.0.0/-1", "prefix length '-1' is not a number"},
      {"10.0.0.0/+8", "prefix length '+8' is not a number"},
      {"10.0.0.0/ 8", "prefix length ' 8' is not a number"},
      {"10.0.0.0/8 ", "prefix length '8 ' is not a number"},
      {"10.0.0.0/8/8", "prefix length '8/8' is not a number"},
      {"10.0.0.0/0x8", "prefix length '0x8' is not a number"},
      {"10.0.0.0/08", "prefix length '08' has a leading zero"},
      {"10.0.0.0/33", "prefix length 33 is above 32 for an IPv4 address"},
      {"10.0.0.0/4294967304", "prefix length 4294967304 is above 32 for an IPv4 address"},
      {"::/129", "prefix length 129 is above 128 for an IPv6 address"},
      {"::ffff:10.0.0.0/129", "prefix length 129 is above 128 for an IPv6 address"},
      {"/8", "bad address '': empty address"},
      {"10.0.0.256/8", "bad address '10.0.0.256': not a valid IPv4 address"},
      {"10.0.0/8", "bad address '10.0.0': not a valid IPv4 address"},
      {"2001:db8:::/32", "bad address '2001:db8:::': not a valid IPv6 address"},
      {"010.0.0.0/8", "bad address '010.0.0.0': IPv4 octet '010' has a leading zero"},
      {"::ffff:10.0.0.01", "IPv4 octet '01' has a leading zero"},
      {"fe80::1%eth0/64", "bad address 'fe80::1%eth0': a zone index ('%') is not allowed"},
      {"[::1]/128", "bad address '[::1]': brackets are not allowed"},
      {"[::1]:80", "brackets are not allowed"},
      {"1.2.3.4:80", "bad address '1.2.3.4:80': a port is not allowed"},
      {" 10.0.0.0/8", "whitespace is not allowed"},
      {"10.0.0.0 /8", "whitespace is not allowed"},
      {"10.0.0.x/8", "unexpected character 'x'"},
      {"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000", "too long to be an address"},
      {"10.0.0.1/8", "host bits are set; did you mean 10.0.0.0/8?"},
      {"0.0.0.1/0", "host bits are set; did you mean 0.0.0.0/0?"},
      {"10.0.0.1/31", "host bits are set; did you mean 10.0.0.0/31?"},
      {"2001:db8::1/32", "host bits are set; did you mean 2001:db8::/32?"},
      {"::1/0", "host bits are set; did you mean ::/0?"},
      {"::ffff:10.0.0.0/8", "host bits are set; did you mean ::/8?"},
      {"::ffff:10.0.0.0/8", "for the IPv4 range write 10.0.0.0/8 or ::ffff:10.0.0.0/104"},
      {"::ffff:10.0.0.1/104", "host bits are set; did you mean 10.0.0.0/8?"},
  };
  for (std::size_t row = 0; row < std::size(cases); ++row) {
    const ErrorCase& c = cases[row];
    SCOPED_TRACE(testing::Message() << "row " << row << ": " << c.text);
    const std::string message = error_of(c.text);
    EXPECT_EQ(message.rfind("invalid CIDR '" + std::string(c.text) + "': ", 0), 0u) << message;
    EXPECT_NE(message.find(c.problem), std::string::npos) << message;
  }
  EXPECT_EQ(error_of("10.0.0.1/8"),
            "invalid CIDR '10.0.0.1/8': host bits are set; did you mean 10.0.0.0/8?");
}

TEST(ParseCidr, ErrorsEscapeUnprintableBytesAndCutLongInput) {
  using namespace std::string_view_literals;
  EXPECT_EQ(error_of("10.0.0.0\x01/8"),
            "invalid CIDR '10.0.0.0\\x01/8': bad address '10.0.0.0\\x01': unexpected byte 0x01");
  EXPECT_EQ(error_of("1\0/8"sv),
            "invalid CIDR '1\\x00/8': bad address '1\\x00': unexpected byte 0x00");
  EXPECT_EQ(
      error_of("10.0.0.0/\x1b[31m\\"),
      "invalid CIDR '10.0.0.0/\\x1b[31m\\x5c': prefix length '\\x1b[31m\\x5c' is not a number");
  EXPECT_EQ(error_of("\xc3\xa9"),
            "invalid CIDR '\\xc3\\xa9': bad address '\\xc3\\xa9': unexpected byte 0xc3");
  const std::string long_text = std::string(200, '1') + "/8";
  const std::string message = error_of(long_text);
  EXPECT_NE(message.find("(cut, 202 bytes in all)"), std::string::npos) << message;
  EXPECT_LT(message.size(), 400u) << message;
  const std::string long_prefix = "10.0.0.0/" + std::string(300, '9');
  EXPECT_NE(error_of(long_prefix).find(" is above 32 for an IPv4 address"), std::string::npos);
  EXPECT_LT(error_of(long_prefix).size(), 400u);
}

TEST(ParseCidr, ErrorsAreInvalidArgument) {
  EXPECT_THROW((void)parse_cidr("nope"), std::invalid_argument);
}

// --- CidrRange ---

TEST(CidrRange, ContainsComparesTheFirstPrefixBits) {
  struct Case {
    std::string_view range;
    std::string_view address;
    bool inside;
  };
  const Case cases[] = {
      {"10.0.0.0/8", "10.0.0.0", true},
      {"10.0.0.0/8", "10.255.255.255", true},
      {"10.0.0.0/8", "11.0.0.0", false},
      {"10.0.0.0/8", "9.255.255.255", false},
      {"10.0.0.0/8", "::ffff:10.1.2.3", true},
      {"10.0.0.0/8", "::a01:203", false},
      {"0.0.0.0/0", "255.255.255.255", true},
      {"0.0.0.0/0", "::1", false},
      {"0.0.0.0/0", "::", false},
      {"1.2.3.4/32", "1.2.3.4", true},
      {"1.2.3.4/32", "1.2.3.5", false},
      {"::/0", "::", true},
      {"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
      {"::/0", "1.2.3.4", true},
      {"::/80", "1.2.3.4", true},
      {"::/81", "1.2.3.4", false},
      {"2001:db8::/32", "2001:db8:ffff::1", true},
      {"2001:db8::/32", "2001:db9::", false},
      {"::1/128", "::1", true},
      {"::1/128", "::", false},
      {"::1/128", "::2", false},
  };
  for (std::size_t row = 0; row < std::size(cases); ++row) {
    const Case& c = cases[row];
    EXPECT_EQ(parse_cidr(c.range).contains(ip(c.address)), c.inside)
        << "row " << row << ": " << c.range << " " << c.address;
  }
}

// --- CidrSet ---

Ranges parse_all(std::initializer_list<std::pair<std::string_view, std::uint32_t>> list) {
  Ranges out;
  for (const auto& [text, payload] : list) out.emplace_back(parse_cidr(text), payload);
  return out;
}

struct LookupCase {
  std::string_view address;
  std::optional<std::uint32_t> expected;
};

void expect_lookups(const Ranges& ranges, std::initializer_list<LookupCase> cases) {
  const CidrSet set(ranges);
  int row = 0;
  for (const LookupCase& c : cases) {
    const IpAddress a = ip(c.address);
    EXPECT_EQ(set.longest_match(a), c.expected) << "row " << row << ": " << c.address;
    EXPECT_EQ(reference::longest_match(ranges, a), c.expected) << "(reference) row " << row << ": " << c.address;
    ++row;
  }
}

TEST(CidrSet, EmptySetMissesEverything) {
  const CidrSet set;
  EXPECT_EQ(set.size(), 0u);
  EXPECT_EQ(set.longest_match(ip("1.2.3.4")), std::nullopt);
  EXPECT_EQ(set.longest_match(ip("::1")), std::nullopt);
  const CidrSet built(Ranges{});
  EXPECT_EQ(built.size(), 0u);
  EXPECT_EQ(built.longest_match(ip("0.0.0.0")), std::nullopt);
  EXPECT_EQ(built.longest_match(ip("::")), std::nullopt);
}

TEST(CidrSet, NestedRangesPickTheMostSpecific) {
  expect_lookups(
      parse_all({{"10.0.0.0/8", 1}, {"10.1.0.0/16", 2}, {"10.1.1.0/24", 3}, {"10.1.1.7", 4}}),
      {
          {"9.255.255.255", std::nullopt},
          {"10.0.0.0", 1},
          {"10.0.255.255", 1},
          {"10.1.0.0", 2},
          {"10.1.0.255", 2},
          {"10.1.1.0", 3},
          {"10.1.1.6", 3},
          {"10.1.1.7", 4},
          {"10.1.1.8", 3},
          {"10.1.1.255", 3},
          {"10.1.2.0", 2},
          {"10.1.255.255", 2},
          {"10.2.0.0", 1},
          {"10.255.255.255", 1},
          {"11.0.0.0", std::nullopt},
          {"::ffff:10.1.1.7", 4},
          {"::a01:107", std::nullopt},
      });
}

TEST(CidrSet, ZeroPrefixCoversItsFamily) {
  expect_lookups(parse_all({{"0.0.0.0/0", 1}}), {
                                                    {"0.0.0.0", 1},
                                                    {"255.255.255.255", 1},
                                                    {"::", std::nullopt},
                                                    {"::1", std::nullopt},
                                                    {"::fffe:ffff:ffff", std::nullopt},
                                                    {"::1:0:0:0", std::nullopt},
                                                    {"2001:db8::1", std::nullopt},
                                                });
  // ::/0 is every 128-bit key, IPv4-mapped ones included; an IPv4 range is more specific.
  expect_lookups(parse_all({{"::/0", 1}, {"10.0.0.0/8", 2}}),
                 {
                     {"::", 1},
                     {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1},
                     {"1.2.3.4", 1},
                     {"10.1.2.3", 2},
                 });
  expect_lookups(parse_all({{"0.0.0.0/0", 2}, {"::/0", 1}, {"::/64", 3}}),
                 {{"1.2.3.4", 2}, {"::1", 3}, {"0:0:0:1::", 1}});
}

TEST(CidrSet, V6RangesCoveringTheMappedBlockMatchV4Addresses) {
  // ::/80 holds ::ffff:0:0/96; ::/81 and ::/96 do not (bit 80 of ffff is 1).
  expect_lookups(parse_all({{"::/80", 1}, {"::/96", 2}, {"::/81", 3}}),
                 {
                     {"1.2.3.4", 1},
                     {"0.0.0.0", 1},
                     {"255.255.255.255", 1},
                     {"::1", 2},
                     {"::1:0:0", 3},
                     {"::7fff:0:0", 3},
                     {"::8000:0:0", 1},
                     {"::1:0:0:0", std::nullopt},
                 });
}

TEST(CidrSet, SingleAddressRanges) {
  expect_lookups(parse_all({{"1.2.3.4/32", 1}, {"2001:db8::1/128", 2}, {"::/128", 3}}),
                 {
                     {"1.2.3.4", 1},
                     {"1.2.3.3", std::nullopt},
                     {"1.2.3.5", std::nullopt},
                     {"2001:db8::1", 2},
                     {"2001:db8::", std::nullopt},
                     {"2001:db8::2", std::nullopt},
                     {"::", 3},
                     {"::1", std::nullopt},
                     {"0.0.0.0", std::nullopt},
                 });
}

TEST(CidrSet, AdjacentRangesDoNotBleed) {
  expect_lookups(parse_all({{"10.0.0.0/25", 1},
                            {"10.0.0.128/25", 2},
                            {"10.0.1.0/24", 3},
                            {"2001:db8::/33", 4},
                            {"2001:db8:8000::/33", 5}}),
                 {
                     {"9.255.255.255", std::nullopt},
                     {"10.0.0.0", 1},
                     {"10.0.0.127", 1},
                     {"10.0.0.128", 2},
                     {"10.0.0.255", 2},
                     {"10.0.1.0", 3},
                     {"10.0.1.255", 3},
                     {"10.0.2.0", std::nullopt},
                     {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", std::nullopt},
                     {"2001:db8::", 4},
                     {"2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", 4},
                     {"2001:db8:8000::", 5},
                     {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 5},
                     {"2001:db9::", std::nullopt},
                 });
}

TEST(CidrSet, RangesEndingAtTheTopOfTheKeySpace) {
  expect_lookups(parse_all({{"255.255.255.0/24", 1},
                            {"255.255.255.255/32", 2},
                            {"128.0.0.0/1", 3},
                            {"ffff::/16", 4},
                            {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 5},
                            {"8000::/1", 6}}),
                 {
                     {"255.255.255.255", 2},
                     {"255.255.255.254", 1},
                     {"255.255.255.0", 1},
                     {"255.255.254.255", 3},
                     {"128.0.0.0", 3},
                     {"127.255.255.255", std::nullopt},
                     {"::1:0:0:0", std::nullopt},
                     {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 5},
                     {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 4},
                     {"ffff::", 4},
                     {"fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6},
                     {"8000::", 6},
                     {"7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", std::nullopt},
                 });
  // Only the top address, alone, in each family.
  expect_lookups(
      parse_all({{"255.255.255.255", 7}, {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 8}}),
      {
          {"255.255.255.255", 7},
          {"255.255.255.254", std::nullopt},
          {"0.0.0.0", std::nullopt},
          {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 8},
          {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", std::nullopt},
          {"::", std::nullopt},
      });
}

TEST(CidrSet, V4MappedAddressesAndRangesAreV4) {
  expect_lookups(parse_all({{"10.0.0.0/8", 1}, {"::ffff:192.168.0.0/112", 2}}),
                 {
                     {"::ffff:10.1.2.3", 1},
                     {"::ffff:a01:203", 1},
                     {"192.168.4.5", 2},
                     {"::ffff:192.168.4.5", 2},
                     {"::ffff:192.169.0.0", std::nullopt},
                     {"::a01:203", std::nullopt},
                 });
}

TEST(CidrSet, LaterDuplicateWins) {
  const Ranges ranges = parse_all({{"10.0.0.0/8", 1},
                                   {"10.0.0.0/8", 2},
                                   {"::ffff:10.0.0.0/104", 3},
                                   {"2001:db8::/32", 4},
                                   {"2001:db8::/32", 5},
                                   {"10.0.0.0/9", 6}});
  const CidrSet set(ranges);
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(set.longest_match(ip("10.200.0.0")), 3u);
  EXPECT_EQ(set.longest_match(ip("10.0.0.0")), 6u);
  EXPECT_EQ(set.longest_match(ip("2001:db8::1")), 5u);
}

TEST(CidrSet, AnyPayloadValueRoundTrips) {
  const CidrSet set(parse_all({{"10.0.0.0/8", 0}, {"10.0.0.0/9", kMax32}, {"::1", 0}}));
  EXPECT_EQ(set.longest_match(ip("10.200.0.0")), 0u);
  EXPECT_EQ(set.longest_match(ip("10.0.0.1")), kMax32);
  EXPECT_EQ(set.longest_match(ip("::1")), 0u);
  EXPECT_EQ(set.longest_match(ip("::2")), std::nullopt);
}

TEST(CidrSet, RejectsInvalidRanges) {
  const auto error_building = [](CidrRange r) -> std::string {
    try {
      CidrSet set(Ranges{{r, 1}});
    } catch (const InvalidCidr& e) {
      return e.what();
    }
    return {};
  };
  EXPECT_NE(error_building({ip("10.0.0.0"), 33}).find("prefix length must be 0..32"),
            std::string::npos);
  EXPECT_NE(error_building({ip("10.0.0.0"), -1}).find("prefix length must be 0..32"),
            std::string::npos);
  EXPECT_NE(error_building({ip("::"), 129}).find("prefix length must be 0..128"),
            std::string::npos);
  EXPECT_EQ(error_building({ip("10.0.0.1"), 8}),
            "invalid CIDR '10.0.0.1/8' in CidrSet: host bits are set");
  EXPECT_NE(error_building({ip("::1"), 64}).find("host bits are set"), std::string::npos);
  EXPECT_EQ(error_building({ip("10.0.0.0"), 8}), "");
}

// --- Randomised: CidrSet against the linear scan. ---

/// Random ranges, many nested inside earlier ones, some exact duplicates,
/// drawn from few distinct byte values so that ranges collide and touch.
class RangeGenerator {
 public:
  explicit RangeGenerator(std::uint32_t seed) : rng_(seed) {}

  Ranges make(std::size_t count, bool v4, bool v6) {
    Ranges out;
    while (out.size() < count) {
      const std::uint32_t payload = static_cast<std::uint32_t>(out.size());
      const int roll = uniform(0, 99);
      if (!out.empty() && roll < 40) {  // nested inside an earlier range
        const CidrRange& outer = out[pick(out.size())].first;
        const int bits = std::min(128, bits128(outer) + uniform(0, 12));
        out.emplace_back(truncate(random_inside(outer), bits), payload);
      } else if (!out.empty() && roll < 50) {  // exact duplicate, new payload
        out.emplace_back(out[pick(out.size())].first, payload);
      } else {
        const bool want_v4 = v4 && (!v6 || uniform(0, 1) == 0);
        const IpAddress a = want_v4 ? IpAddress::from_v4(random_v4()) : random_v6();
        const int min_bits = a.is_v4() ? 96 : 0;
        const int bits = uniform(0, 7) == 0 ? uniform(min_bits, 128) : uniform(min_bits + 8, 128);
        out.emplace_back(truncate(a, bits), payload);
      }
    }
    return out;
  }

  /// Addresses worth probing: every range's first and last address and their
  /// neighbours, plus random ones.
  std::vector<IpAddress> probes(const Ranges& ranges, std::size_t random_count) {
    std::vector<IpAddress> out;
    for (const auto& [range, payload] : ranges) {
      const IpAddress first = with_host_bits(range, false);
      const IpAddress last = with_host_bits(range, true);
      for (const IpAddress& a :
           {first, last, step(first, -1), step(last, 1), random_inside(range)}) {
        out.push_back(a);
      }
    }
    for (std::size_t i = 0; i < random_count; ++i) {
      out.push_back(uniform(0, 1) == 0 ? IpAddress::from_v4(random_v4()) : random_v6());
    }
    return out;
  }

 private:
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }

  std::uint8_t random_byte() {
    constexpr std::array<std::uint8_t, 6> kCommon{0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
    if (uniform(0, 2) == 0) return static_cast<std::uint8_t>(uniform(0, 255));
    return kCommon[pick(kCommon.size())];
  }

  std::uint32_t random_v4() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | random_byte();
    return v;
  }

  IpAddress random_v6() {
    Bytes b{};
    for (auto& byte : b) byte = random_byte();
    if (uniform(0, 3) == 0)
      std::fill(b.begin(), b.begin() + 10, std::uint8_t{0});  // near ::ffff:0:0
    return IpAddress::from_bytes(b);
  }

  /// A random address of the range (host bits random).
  IpAddress random_inside(const CidrRange& r) {
    Bytes b = r.base.bytes();
    for (int i = bits128(r); i < 128; ++i) {
      if (uniform(0, 1) == 1)
        b[static_cast<std::size_t>(i / 8)] |= static_cast<std::uint8_t>(1u << (7 - i % 8));
    }
    return IpAddress::from_bytes(b);
  }

  /// The range of the first `bits` (of 128) bits of `a`, in the family its base falls in.
  static CidrRange truncate(const IpAddress& a, int bits) {
    Bytes b = a.bytes();
    for (std::size_t i = 0; i < b.size(); ++i) b[i] &= mask_byte(bits, i);
    const IpAddress network = IpAddress::from_bytes(b);
    return {network, network.is_v4() ? bits - 96 : bits};
  }

  /// Byte `i` of the mask keeping the first `bits` bits.
  static std::uint8_t mask_byte(int bits, std::size_t i) {
    const int in_byte = std::clamp(bits - static_cast<int>(i) * 8, 0, 8);
    return static_cast<std::uint8_t>(0xff00u >> in_byte);
  }

  std::mt19937 rng_;
};

void check_against_brute_force(std::uint32_t seed, std::size_t count, bool v4, bool v6) {
  SCOPED_TRACE(testing::Message() << "seed " << seed << ", " << count << " ranges");
  RangeGenerator gen(seed);
  const Ranges ranges = gen.make(count, v4, v6);
  const CidrSet set(ranges);
  std::vector<std::pair<IpAddress, int>> distinct;  // (base, bits128)
  for (const auto& [range, payload] : ranges) distinct.emplace_back(range.base, bits128(range));
  std::sort(distinct.begin(), distinct.end());
  EXPECT_EQ(set.size(), static_cast<std::size_t>(std::unique(distinct.begin(), distinct.end()) -
                                                 distinct.begin()));
  int failures = 0;
  for (const IpAddress& a : gen.probes(ranges, 2000)) {
    const std::optional<std::uint32_t> expected = reference::longest_match(ranges, a);
    const std::optional<std::uint32_t> got = set.longest_match(a);
    if (got != expected && ++failures <= 5) {
      ADD_FAILURE() << a.to_string() << ": got " << (got ? std::to_string(*got) : "none")
                    << ", expected " << (expected ? std::to_string(*expected) : "none");
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST(CidrSetRandom, V4MatchesLinearScan) {
  for (std::uint32_t seed = 1; seed <= 20; ++seed)
    check_against_brute_force(seed, 300, true, false);
}

TEST(CidrSetRandom, V6MatchesLinearScan) {
  for (std::uint32_t seed = 101; seed <= 120; ++seed)
    check_against_brute_force(seed, 300, false, true);
}

TEST(CidrSetRandom, MixedFamiliesMatchLinearScan) {
  for (std::uint32_t seed = 201; seed <= 220; ++seed)
    check_against_brute_force(seed, 300, true, true);
}

TEST(CidrSetRandom, SmallSetsMatchLinearScan) {
  for (std::uint32_t seed = 301; seed <= 800; ++seed) {
    check_against_brute_force(seed, 1 + seed % 8, seed % 3 != 0, seed % 3 != 1);
  }
}

TEST(CidrSetRandom, InputOrderDoesNotMatterExceptForDuplicates) {
  RangeGenerator gen(42);
  Ranges ranges = gen.make(500, true, true);
  // Make payloads depend only on the range so that reordering duplicates is harmless.
  for (auto& [range, payload] : ranges)
    payload = static_cast<std::uint32_t>(bits128(range)) * 7919u + range.base.bytes()[15];
  const CidrSet forward(ranges);
  std::shuffle(ranges.begin(), ranges.end(), std::mt19937(7));
  const CidrSet shuffled(ranges);
  for (const IpAddress& a : gen.probes(ranges, 1000)) {
    ASSERT_EQ(forward.longest_match(a), shuffled.longest_match(a)) << a.to_string();
  }
}

}  // namespace
}  // namespace ratelimit::policy
