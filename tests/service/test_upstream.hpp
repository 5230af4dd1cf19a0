#pragma once
// A real HTTP/1.1 upstream for proxy-mode tests (Boost.Beast on 127.0.0.1, a
// free port, one event-loop thread of its own). Routes:
//   /echo         200, JSON: method, target, headers, body_bytes, body_sum
//   /status/NNN   status NNN, body "status NNN"
//   /stream?bytes=N  200, a chunked body of N bytes (byte i = i % 251)
//   /close?bytes=N   200, N bytes ended by closing the connection (no length)
//   /hang         never answers
//   /drop-after   200 with keep-alive, then the connection closes
//   /garbage      bytes that are not an HTTP response, then a close
//   anything else 200, body "hello from upstream"
// Keep-alive is honoured. Every request is counted.

#include <atomic>
#include <cstdint>
#include <memory>

namespace ratelimit::testing {

class TestUpstream {
 public:
  TestUpstream();
  ~TestUpstream();
  TestUpstream(const TestUpstream&) = delete;
  TestUpstream& operator=(const TestUpstream&) = delete;

  [[nodiscard]] int port() const noexcept;
  /// Requests served so far.
  [[nodiscard]] std::uint64_t hits() const noexcept;
  /// Connections accepted so far (keep-alive reuse keeps this low).
  [[nodiscard]] std::uint64_t connections() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The checksum /echo reports for a body: sum of bytes times their position + 1, mod 2^32.
std::uint32_t body_checksum(const char* data, std::size_t size, std::uint64_t offset = 0,
                            std::uint32_t sum = 0);

}  // namespace ratelimit::testing
