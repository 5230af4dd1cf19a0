#include "store/memory/slot_table.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace ratelimit::memory {

namespace {
constexpr std::size_t kPage = 4096;
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kCacheLine = 64;
// Tables smaller than this are heap blocks, larger ones anonymous mappings.
constexpr std::size_t kHeapTableLimit = std::size_t{128} << 10;
}  // namespace

LongKey* LongKey::make(std::string_view key) {
  void* p = std::malloc(sizeof(LongKey) + key.size());
  if (p == nullptr) throw std::bad_alloc();
  auto* k = static_cast<LongKey*>(p);
  k->size = static_cast<std::uint32_t>(key.size());
  std::memcpy(k->data, key.data(), key.size());
  return k;
}

void LongKey::destroy(void* p) noexcept { std::free(p); }

LongKey* Meta::long_key() const noexcept {
  LongKey* p = nullptr;
  std::memcpy(&p, key, sizeof(p));
  return p;
}

std::string_view Meta::key_view() const noexcept {
  if (length == kLongKey) return long_key()->view();
  return {key, length};
}

Table* Table::create(std::size_t capacity) {
  const std::size_t state_bytes = capacity * sizeof(Words);
  const std::size_t raw = state_bytes + capacity * sizeof(Meta);
  auto* t = new Table();
  if (raw < kHeapTableLimit) {
    // Small tables come from the heap: a mapping would cost a page and, when
    // freed, a TLB shootdown, for a table that a busy shard may replace
    // within microseconds.
    const std::size_t bytes = (raw + kCacheLine - 1) / kCacheLine * kCacheLine;
    void* mem = std::aligned_alloc(kCacheLine, bytes);
    if (mem == nullptr) {
      delete t;
      throw std::bad_alloc();
    }
    std::memset(mem, 0, bytes);
    t->bytes_ = bytes;
    t->mapped_ = false;
    t->states_ = static_cast<Words*>(mem);
  } else {
    const std::size_t bytes = (raw + kPage - 1) / kPage * kPage;
    // Anonymous mappings are zero (= empty slots) and become resident only as
    // slots are touched; large ones ask for huge pages to spare TLB misses.
    void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
      delete t;
      throw std::bad_alloc();
    }
    if (bytes >= 2 * kHugePage) ::madvise(mem, bytes, MADV_HUGEPAGE);
    t->bytes_ = bytes;
    t->mapped_ = true;
    t->states_ = static_cast<Words*>(mem);
  }
  t->capacity_ = capacity;
  t->metas_ = reinterpret_cast<Meta*>(reinterpret_cast<char*>(t->states_) + state_bytes);
  return t;
}

void Table::destroy(Table* t) noexcept {
  if (t == nullptr) return;
  if (t->mapped_) {
    ::munmap(t->states_, t->bytes_);
  } else {
    std::free(t->states_);
  }
  delete t;
}

std::size_t Table::find(KeyHash h, std::string_view key) const noexcept {
  const std::uint32_t tag = h.tag();
  std::size_t i = home(h);
  for (std::size_t probes = 0; probes < capacity_; ++probes, i = next(i)) {
    const std::uint64_t w0 = load_w0(states_ + i);
    if (w0 == 0) return kNotFound;
    if ((w0 & kDead) == 0 && metas_[i].matches(tag, key)) return i;
  }
  return kNotFound;
}

std::size_t Table::free_slot(KeyHash h) const noexcept {
  std::size_t i = home(h);
  while (load_w0(states_ + i) != 0) i = next(i);
  return i;
}

}  // namespace ratelimit::memory
