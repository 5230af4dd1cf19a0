// Who is calling, as proxy mode reads it: headers, query, trusted proxies.
#include "proxy/client_identity.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>

namespace ratelimitd::proxy {
namespace {

using ratelimit::policy::parse_cidr;
namespace http = boost::beast::http;

IdentitySettings settings(std::vector<std::string> trusted = {}) {
  IdentitySettings s{"X-User-Id", "X-API-Key", "api_key", {}};
  for (const auto& t : trusted) s.trusted_proxies.push_back(parse_cidr(t));
  return s;
}

TEST(ClientIdentity, UserAndApiKeyFromHeadersOrQuery) {
  http::fields h;
  h.set("x-user-id", "  alice ");
  h.set("X-API-Key", "k1");
  auto id = client_identity(h, "/p?api_key=k2", "192.0.2.1", settings());
  EXPECT_EQ(id.user, "alice");
  EXPECT_EQ(id.api_key, "k1") << "the header wins over the query";
  EXPECT_EQ(id.ip, "192.0.2.1");
  id = client_identity(http::fields{}, "/p?x=1&api_key=a%2Fb+c&api_key=second", "192.0.2.1",
                       settings());
  EXPECT_EQ(id.api_key, "a/b c");
  EXPECT_EQ(id.user, "");
}

TEST(ClientIdentity, QueryParameters) {
  EXPECT_EQ(query_parameter("/p?a=1&b=2", "b"), "2");
  EXPECT_EQ(query_parameter("/p?a=1&b=2#frag", "b"), "2");
  EXPECT_EQ(query_parameter("/p?b", "b"), "");
  EXPECT_EQ(query_parameter("/p?b=%zz", "b"), "") << "a broken escape is no value";
  EXPECT_EQ(query_parameter("/p?%62=x", "b"), "x") << "names are decoded too";
  EXPECT_EQ(query_parameter("/p", "b"), "");
  EXPECT_EQ(query_parameter("/p?b=%", "b"), "");
}

TEST(ClientIdentity, ForwardedAddresses) {
  EXPECT_EQ(forwarded_address(" 1.2.3.4 ")->to_string(), "1.2.3.4");
  EXPECT_EQ(forwarded_address("1.2.3.4:8080")->to_string(), "1.2.3.4");
  EXPECT_EQ(forwarded_address("[2001:db8::1]:443")->to_string(), "2001:db8::1");
  EXPECT_EQ(forwarded_address("2001:db8::1")->to_string(), "2001:db8::1");
  EXPECT_FALSE(forwarded_address("unknown"));
  EXPECT_FALSE(forwarded_address(""));
  EXPECT_FALSE(forwarded_address("[::1"));
  EXPECT_FALSE(forwarded_address("1.2.3.4:80:90"));
}

TEST(ClientIdentity, UntrustedPeersCannotChooseTheirIp) {
  http::fields h;
  h.set("X-Forwarded-For", "198.51.100.7");
  h.set("X-Real-IP", "198.51.100.8");
  EXPECT_EQ(client_identity(h, "/", "192.0.2.1", settings()).ip, "192.0.2.1");
  EXPECT_EQ(client_identity(h, "/", "192.0.2.1", settings({"10.0.0.0/8"})).ip, "192.0.2.1");
}

TEST(ClientIdentity, TrustedChainIsWalkedFromTheRight) {
  const auto s = settings({"10.0.0.0/8", "192.0.2.1/32"});
  http::fields h;
  h.insert("X-Forwarded-For", "203.0.113.5, 198.51.100.7");
  h.insert("X-Forwarded-For", "10.0.0.2, 10.0.0.3");  // a second header line continues the list
  EXPECT_EQ(client_identity(h, "/", "192.0.2.1", s).ip, "198.51.100.7");
  // Everything trusted: the leftmost is the client.
  http::fields all;
  all.set("X-Forwarded-For", "10.1.1.1, 10.0.0.3");
  EXPECT_EQ(client_identity(all, "/", "192.0.2.1", s).ip, "10.1.1.1");
  // Garbage stops the walk at the last good hop.
  http::fields junk;
  junk.set("X-Forwarded-For", "evil, 10.0.0.3");
  EXPECT_EQ(client_identity(junk, "/", "192.0.2.1", s).ip, "10.0.0.3");
  http::fields junk_only;
  junk_only.set("X-Forwarded-For", "nonsense");
  EXPECT_EQ(client_identity(junk_only, "/", "192.0.2.1", s).ip, "192.0.2.1");
  // X-Real-IP without X-Forwarded-For.
  http::fields real;
  real.set("X-Real-IP", "198.51.100.9");
  EXPECT_EQ(client_identity(real, "/", "192.0.2.1", s).ip, "198.51.100.9");
  // IPv4-mapped peers count as IPv4.
  EXPECT_EQ(client_identity(real, "/", "::ffff:192.0.2.1", s).ip, "198.51.100.9");
}

// Whatever the headers say, the result is the peer or an address that a
// trusted peer forwarded, and nothing crashes.
TEST(ClientIdentity, ArbitraryHeadersNeverCrashAndStayPlausible) {
  const auto s = settings({"127.0.0.0/8"});
  const bool ok = rc::check([&](const std::string& xff, const std::string& real,
                                const std::string& target) {
    http::fields h;
    try {
      h.set("X-Forwarded-For", xff);
      h.set("X-Real-IP", real);
    } catch (const std::exception&) {
      return;  // Beast refuses header values with CR/LF: nothing to test
    }
    const auto untrusted = client_identity(h, "/?" + target, "192.0.2.1", s);
    RC_ASSERT(untrusted.ip == "192.0.2.1");
    const auto trusted = client_identity(h, "/?" + target, "127.0.0.1", s);
    RC_ASSERT(ratelimit::policy::IpAddress::parse(trusted.ip).has_value());
    (void)query_parameter(target, "api_key");
  });
  EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace ratelimitd::proxy
