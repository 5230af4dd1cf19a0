// The proxy's per-connection arena for header fields: aligned, distinct
// memory past the inline block, everything taken back by reset(), and
// Beast's parser working on top of it.
#include "proxy/field_arena.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

namespace ratelimitd::proxy {
namespace {

namespace http = boost::beast::http;

TEST(FieldArena, HandsOutAlignedDistinctMemoryBeyondItsInlineBlock) {
  FieldArena arena;
  std::vector<std::pair<unsigned char*, std::size_t>> blocks;
  for (std::size_t i = 0; i < 200; ++i) {
    const std::size_t size = 1 + (i * 37) % 300;
    const std::size_t align = std::size_t{1} << (i % 5);  // 1..16
    auto* p = static_cast<unsigned char*>(arena.allocate(size, align));
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0U) << i;
    std::memset(p, static_cast<int>(i), size);
    blocks.emplace_back(p, size);
  }
  EXPECT_GT(arena.overflow_blocks(), 0U);  // 200 blocks of ~150 bytes overflow 4 KiB
  for (std::size_t i = 0; i < blocks.size(); ++i) {  // nothing overwrote anything
    for (std::size_t j = 0; j < blocks[i].second; ++j) {
      ASSERT_EQ(blocks[i].first[j], static_cast<unsigned char>(i)) << i;
    }
  }
  arena.reset();
  EXPECT_EQ(arena.used_inline(), 0U);
  EXPECT_EQ(arena.overflow_blocks(), 0U);
}

// Parses `text` with a request parser whose fields live in `arena`.
void parse_in(FieldArena& arena, const std::string& text, int expected_fields) {
  http::request_parser<http::empty_body, ArenaAllocator<char>> parser(
      std::piecewise_construct, std::make_tuple(), std::make_tuple(ArenaAllocator<char>(&arena)));
  parser.header_limit(64 * 1024);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(text), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(parser.is_header_done());
  const auto& req = parser.get();
  EXPECT_EQ(req.target(), "/some/path?q=1");
  int seen = 0;
  for (const auto& field : req) {
    const std::string n = std::to_string(seen);
    EXPECT_EQ(field.name_string(), "X-Field-" + n);
    EXPECT_EQ(field.value(), std::string(100, static_cast<char>('a' + seen % 26)));
    ++seen;
  }
  EXPECT_EQ(seen, expected_fields);
  // Fields can be replaced and erased (the proxy drops hop-by-hop ones).
  auto& mutable_req = parser.get();
  mutable_req.set("X-Field-0", "replaced");
  mutable_req.erase("X-Field-1");
  EXPECT_EQ(mutable_req["X-Field-0"], "replaced");
  EXPECT_EQ(mutable_req.count("X-Field-1"), 0U);
}

std::string request_with(int fields) {
  std::string text = "GET /some/path?q=1 HTTP/1.1\r\n";
  for (int i = 0; i < fields; ++i) {
    text += "X-Field-" + std::to_string(i) + ": " + std::string(100, static_cast<char>('a' + i % 26)) + "\r\n";
  }
  return text + "\r\n";
}

TEST(FieldArena, BeastParsesSmallAndOversizedHeadsOnIt) {
  FieldArena arena;
  for (int round = 0; round < 3; ++round) {  // reused between requests, as a connection does
    arena.reset();
    parse_in(arena, request_with(3), 3);
    EXPECT_EQ(arena.overflow_blocks(), 0U);
    arena.reset();
    parse_in(arena, request_with(200), 200);  // ~24 KiB of fields
    EXPECT_GT(arena.overflow_blocks(), 0U);
  }
}

TEST(FieldArena, AnAllocatorWithoutArenaUsesTheHeap) {
  http::basic_fields<ArenaAllocator<char>> fields;  // default allocator: no arena
  for (int i = 0; i < 50; ++i) fields.insert("X-" + std::to_string(i), std::string(200, 'v'));
  fields.erase("X-7");
  EXPECT_EQ(std::distance(fields.begin(), fields.end()), 49);
}

}  // namespace
}  // namespace ratelimitd::proxy
