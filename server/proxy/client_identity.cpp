#include "proxy/client_identity.hpp"

#include <algorithm>
#include <optional>

namespace ratelimitd::proxy {

using ratelimit::policy::CidrRange;
using ratelimit::policy::IpAddress;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool in_ranges(const IpAddress& address, const std::vector<CidrRange>& ranges) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const CidrRange& r) { return r.contains(address); });
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a query component; nullopt for a broken escape.
std::optional<std::string> decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex(text[i + 1]);
      const int lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::optional<IpAddress> forwarded_address(std::string_view entry) {
  entry = trim(entry);
  if (entry.empty()) return std::nullopt;
  if (entry.front() == '[') {  // [v6] or [v6]:port
    const auto close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    return IpAddress::parse(entry.substr(1, close - 1));
  }
  if (auto direct = IpAddress::parse(entry)) return direct;
  // v4:port (a v6 address has several colons and parsed above, or is bad).
  const auto colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    return IpAddress::parse(entry.substr(0, colon));
  }
  return std::nullopt;
}

bool is_trusted(std::string_view address, const std::vector<CidrRange>& ranges) {
  if (ranges.empty()) return false;
  const auto parsed = IpAddress::parse(address);
  return parsed && in_ranges(*parsed, ranges);
}

std::string query_parameter(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos || name.empty()) return {};
  std::string_view query = target.substr(q + 1);
  if (const auto hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    const auto key = decode(pair.substr(0, eq));
    if (key && *key == name && eq != std::string_view::npos) {
      return decode(pair.substr(eq + 1)).value_or(std::string());
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

template <class Fields>
ClientIdentity client_identity(const Fields& headers, std::string_view target, std::string_view peer,
                               const IdentitySettings& settings) {
  ClientIdentity out;
  if (!settings.user_header.empty()) {
    if (const auto it = headers.find(settings.user_header); it != headers.end()) {
      out.user = std::string(trim(it->value()));
    }
  }
  if (!settings.api_key_header.empty()) {
    if (const auto it = headers.find(settings.api_key_header); it != headers.end()) {
      out.api_key = std::string(trim(it->value()));
    }
  }
  if (out.api_key.empty() && !settings.api_key_query.empty()) {
    out.api_key = query_parameter(target, settings.api_key_query);
  }

  const auto peer_address = IpAddress::parse(peer);
  out.ip = peer_address ? peer_address->to_string() : std::string(peer);
  if (!peer_address || !in_ranges(*peer_address, settings.trusted_proxies)) return out;

  // The peer is a trusted proxy: believe what it forwarded. Every
  // X-Forwarded-For header counts, in order (a list may be split over several).
  std::vector<std::string_view> hops;
  const auto [first, last] = headers.equal_range("X-Forwarded-For");
  for (auto it = first; it != last; ++it) {
    std::string_view list = it->value();
    while (true) {
      const auto comma = list.find(',');
      hops.push_back(list.substr(0, comma));
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  if (!hops.empty()) {
    IpAddress client = *peer_address;
    for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
      const auto address = forwarded_address(*hop);
      if (!address) break;  // garbage: the client is the last good hop
      client = *address;
      if (!in_ranges(client, settings.trusted_proxies)) break;
    }
    out.ip = client.to_string();
    return out;
  }
  if (const auto it = headers.find("X-Real-IP"); it != headers.end()) {
    if (const auto address = forwarded_address(it->value())) out.ip = address->to_string();
  }
  return out;
}

template ClientIdentity client_identity(const boost::beast::http::fields&, std::string_view,
                                        std::string_view, const IdentitySettings&);
template ClientIdentity client_identity(const ProxyFields&, std::string_view, std::string_view,
                                        const IdentitySettings&);

}  // namespace ratelimitd::proxy
