#pragma once
// Memory for the header fields of one proxied exchange (the request's and
// the upstream response's), handed out by bumping a pointer and taken back
// all at once before the connection's next request. Beast's basic_fields
// allocates each field on its own: about ten mallocs per proxied request
// (measured with a malloc probe) that this makes two pointer bumps each.

#include <boost/beast/http/fields.hpp>
#include <cstddef>
#include <memory>
#include <new>
#include <vector>

namespace ratelimitd::proxy {

class FieldArena {
 public:
  FieldArena() = default;
  FieldArena(const FieldArena&) = delete;
  FieldArena& operator=(const FieldArena&) = delete;

  /// `size` bytes aligned to `align` (at most alignof(max_align_t)). Past the
  /// inline block, memory comes from the heap and is freed by reset().
  void* allocate(std::size_t size, std::size_t align) {
    std::size_t at = (used_ + align - 1) & ~(align - 1);
    if (at + size <= sizeof inline_) {
      used_ = at + size;
      return inline_ + at;
    }
    overflow_.push_back(std::make_unique<std::max_align_t[]>((size + sizeof(std::max_align_t) - 1) /
                                                             sizeof(std::max_align_t)));
    return overflow_.back().get();
  }
  /// Forgets every allocation. Nothing allocated may be alive.
  void reset() noexcept {
    used_ = 0;
    overflow_.clear();
  }
  [[nodiscard]] std::size_t used_inline() const noexcept { return used_; }
  [[nodiscard]] std::size_t overflow_blocks() const noexcept { return overflow_.size(); }

 private:
  // Two typical messages' fields fit (a field takes about 100 bytes).
  alignas(std::max_align_t) std::byte inline_[4096];
  std::size_t used_ = 0;
  std::vector<std::unique_ptr<std::max_align_t[]>> overflow_;
};

/// Allocates from a FieldArena; deallocation is a no-op (the arena's reset
/// takes everything back). A default-constructed one (no arena) uses the
/// heap, so Beast may build its fields without one.
template <class T>
class ArenaAllocator {
 public:
  using value_type = T;
  ArenaAllocator() noexcept = default;
  explicit ArenaAllocator(FieldArena* arena) noexcept : arena_(arena) {}
  template <class U>
  ArenaAllocator(const ArenaAllocator<U>& other) noexcept : arena_(other.arena()) {}  // NOLINT

  T* allocate(std::size_t n) {
    if (arena_ == nullptr) return std::allocator<T>{}.allocate(n);
    static_assert(alignof(T) <= alignof(std::max_align_t));
    return static_cast<T*>(arena_->allocate(n * sizeof(T), alignof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (arena_ == nullptr) std::allocator<T>{}.deallocate(p, n);
  }
  [[nodiscard]] FieldArena* arena() const noexcept { return arena_; }

  template <class U>
  bool operator==(const ArenaAllocator<U>& other) const noexcept {
    return arena_ == other.arena();
  }

 private:
  FieldArena* arena_ = nullptr;
};

using ProxyFields = boost::beast::http::basic_fields<ArenaAllocator<char>>;

}  // namespace ratelimitd::proxy
