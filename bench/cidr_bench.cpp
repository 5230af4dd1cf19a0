// cidr_bench: Google Benchmark program for ratelimit::policy::CidrSet.
//
// Lookups among N random ranges (IPv4: prefix lengths 8..32; IPv6: 16..128,
// mostly under 2000::/3), about a third of them nested inside an earlier
// range. Addresses to look up are precomputed (half inside a random range,
// half uniform), so the timed loop only reads them in sequence; lookups are
// independent, so the figure is throughput per lookup on one thread, not the
// latency of one isolated lookup. Building time is for the constructor alone
// (the input vector is copied outside the timed region).
//
//   cidr_bench --benchmark_min_time=0.5

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ratelimit/policy/cidr_set.hpp"

namespace {

using ratelimit::policy::CidrRange;
using ratelimit::policy::CidrSet;
using ratelimit::policy::IpAddress;
using Ranges = std::vector<std::pair<CidrRange, std::uint32_t>>;
using Bytes = std::array<std::uint8_t, 16>;

/// Precomputed lookup addresses, replayed cyclically.
constexpr std::size_t kProbes = std::size_t{1} << 20;
constexpr std::size_t kProbeMask = kProbes - 1;

/// The address with the bits after the first `bits` (of 128) cleared, or set
/// to random ones from `rng` when `randomize`.
IpAddress mask_from(const IpAddress& a, int bits, std::mt19937_64* rng) {
  Bytes b = a.bytes();
  for (int i = bits; i < 128; ++i) {
    const auto bit = static_cast<std::uint8_t>(1u << (7 - i % 8));
    auto& byte = b[static_cast<std::size_t>(i / 8)];
    byte = static_cast<std::uint8_t>(byte & ~bit);
    if (rng != nullptr && ((*rng)() & 1) != 0) byte = static_cast<std::uint8_t>(byte | bit);
  }
  return IpAddress::from_bytes(b);
}

int bits128(const CidrRange& r) { return r.base.is_v4() ? 96 + r.prefix_length : r.prefix_length; }

IpAddress random_v6(std::mt19937_64& rng) {
  Bytes b{};
  const std::uint64_t hi =
      (rng() & 0x1fff'ffff'ffff'ffffULL) | 0x2000'0000'0000'0000ULL;  // 2000::/3
  const std::uint64_t lo = rng();
  for (std::size_t i = 0; i < 8; ++i) {
    b[i] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
  }
  return IpAddress::from_bytes(b);
}

/// `count` ranges of one family; ~1/3 nested inside an earlier one.
Ranges make_ranges(std::size_t count, bool v4, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Ranges out;
  out.reserve(count);
  const int min_bits = v4 ? 96 + 8 : 16;
  while (out.size() < count) {
    const auto payload = static_cast<std::uint32_t>(out.size());
    if (!out.empty() && rng() % 3 == 0) {
      const CidrRange outer = out[rng() % out.size()].first;
      const int bits = std::min(128, bits128(outer) + 1 + static_cast<int>(rng() % 8));
      const IpAddress base = mask_from(mask_from(outer.base, bits128(outer), &rng), bits, nullptr);
      out.push_back({{base, base.is_v4() ? bits - 96 : bits}, payload});
      continue;
    }
    const IpAddress a = v4 ? IpAddress::from_v4(static_cast<std::uint32_t>(rng())) : random_v6(rng);
    const int bits =
        min_bits + static_cast<int>(rng() % static_cast<std::uint64_t>(129 - min_bits));
    const IpAddress base = mask_from(a, bits, nullptr);
    out.push_back({{base, base.is_v4() ? bits - 96 : bits}, payload});
  }
  return out;
}

/// Half the probes fall inside a random range, half are uniform in the family.
std::vector<IpAddress> make_probes(const Ranges& ranges, bool v4, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<IpAddress> out;
  out.reserve(kProbes);
  for (std::size_t i = 0; i < kProbes; ++i) {
    if (i % 2 == 0) {
      const CidrRange& r = ranges[rng() % ranges.size()].first;
      out.push_back(mask_from(r.base, bits128(r), &rng));
    } else {
      out.push_back(v4 ? IpAddress::from_v4(static_cast<std::uint32_t>(rng())) : random_v6(rng));
    }
  }
  return out;
}

void lookup(benchmark::State& state, bool v4) {
  const auto count = static_cast<std::size_t>(state.range(0));
  const Ranges ranges = make_ranges(count, v4, v4 ? 4 : 6);
  const CidrSet set(ranges);
  const std::vector<IpAddress> probes = make_probes(ranges, v4, 99);
  std::size_t next = 0;
  std::uint64_t hits = 0;
  for (auto _ : state) {
    const std::optional<std::uint32_t> match = set.longest_match(probes[next]);
    hits += match.has_value() ? 1u : 0u;
    benchmark::DoNotOptimize(match);
    next = (next + 1) & kProbeMask;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_ratio"] = static_cast<double>(hits) /
                                static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
  state.counters["ranges"] = static_cast<double>(set.size());
}

void BM_CidrLookupV4(benchmark::State& state) { lookup(state, true); }
void BM_CidrLookupV6(benchmark::State& state) { lookup(state, false); }
BENCHMARK(BM_CidrLookupV4)->Arg(1'000)->Arg(100'000);
BENCHMARK(BM_CidrLookupV6)->Arg(1'000)->Arg(100'000);

void build(benchmark::State& state, bool v4) {
  const Ranges ranges = make_ranges(static_cast<std::size_t>(state.range(0)), v4, v4 ? 4 : 6);
  for (auto _ : state) {
    state.PauseTiming();
    Ranges copy = ranges;
    state.ResumeTiming();
    const CidrSet set(std::move(copy));
    benchmark::DoNotOptimize(set.size());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_CidrBuildV4(benchmark::State& state) { build(state, true); }
void BM_CidrBuildV6(benchmark::State& state) { build(state, false); }
BENCHMARK(BM_CidrBuildV4)->Arg(100'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CidrBuildV6)->Arg(100'000)->Unit(benchmark::kMillisecond);

void BM_ParseCidr(benchmark::State& state) {
  const std::array<std::string, 4> texts{"10.0.0.0/8", "192.168.1.17", "2001:db8::/32",
                                         "::ffff:10.0.0.0/104"};
  std::size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ratelimit::policy::parse_cidr(texts[next]));
    next = (next + 1) % texts.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseCidr);

}  // namespace

BENCHMARK_MAIN();
