// redis_hammer: one process of the cross-process exactness test. THREADS
// threads, each with ATTEMPTS decisions of cost 1 on one key, through this
// process's own RedisStore (own connections). Prints the number admitted.
//
// usage: redis_hammer URL ALGORITHM LIMIT WINDOW_US THREADS ATTEMPTS KEY [INSTANT]
// With INSTANT every decision is made at that instant (client time mode: no
// refill, so the admitted total is exact); without it Redis TIME is used.

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "ratelimit/redis_store.hpp"

int main(int argc, char** argv) {
  using namespace ratelimit;
  if (argc != 8 && argc != 9) {
    std::cerr << "usage: redis_hammer URL ALGORITHM LIMIT WINDOW_US THREADS ATTEMPTS KEY [INSTANT]\n";
    return 2;
  }
  try {
    RedisStoreOptions options = parse_redis_url(argv[1]);
    const LimitSpec spec(parse_algorithm(argv[2]), std::stoll(argv[3]), std::stoll(argv[4]));
    const int threads = std::stoi(argv[5]);
    const int attempts = std::stoi(argv[6]);
    const std::string key = argv[7];
    Micros instant = 0;
    if (argc == 9) {
      options.time_mode = RedisTimeMode::client;
      instant = std::stoll(argv[8]);
    }
    RedisStore store(options);
    std::atomic<long long> admitted{0};
    std::atomic<long long> failed{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (int i = 0; i < attempts; ++i) {
          try {
            if (store.decide_one(Check{&spec, key}, 1, instant).allowed) admitted.fetch_add(1);
          } catch (const StoreUnavailable& e) {
            failed.fetch_add(1);
            std::cerr << "redis_hammer: " << e.what() << '\n';
          }
        }
      });
    }
    for (auto& t : pool) t.join();
    std::cout << admitted.load() << '\n';
    return failed.load() == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "redis_hammer: " << e.what() << '\n';
    return 2;
  }
}
