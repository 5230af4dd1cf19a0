#pragma once
/// @file string_map.hpp
/// A string-keyed hash map that looks up by std::string_view without
/// building a std::string (request attributes arrive as views).

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ratelimit::policy {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

}  // namespace ratelimit::policy
