#pragma once
// The rate-limit headers proxy mode adds to one response, rendered once as
// "Name: value\r\n" lines into storage the connection reuses: after the
// first few requests, adding headers allocates nothing.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/http/rate_limit_headers.hpp"

namespace ratelimitd::proxy {

class AddedHeaders final : public ratelimit::http::HeaderSink {
 public:
  /// Forgets the headers (keeps the storage).
  void clear() noexcept;
  void add(std::string_view name, std::string_view value) override;

  /// Every header as "Name: value\r\n" lines, in the order added.
  [[nodiscard]] std::string_view lines() const noexcept { return lines_; }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] std::string_view name(std::size_t i) const noexcept;
  [[nodiscard]] std::string_view value(std::size_t i) const noexcept;
  /// Whether one of the headers is called `name` (case-insensitive): an
  /// upstream header of that name is replaced, not repeated.
  [[nodiscard]] bool has(std::string_view name) const noexcept;

 private:
  struct Entry {
    std::uint32_t name_at, name_size, value_at, value_size;
  };
  std::string lines_;
  std::vector<Entry> entries_;
};

}  // namespace ratelimitd::proxy
