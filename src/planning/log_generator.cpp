#include "ratelimit/planning/log_generator.hpp"

#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <string>

namespace ratelimit::planning {

namespace {

class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) {
    return static_cast<std::uint64_t>(uniform() * static_cast<double>(n));
  }
  double exponential(double rate) { return -std::log(1.0 - uniform()) / rate; }

 private:
  std::mt19937_64 engine_;
};

struct Endpoint {
  const char* method;
  const char* path;  ///< "%u" is replaced by an id
  double weight;
};

constexpr Endpoint kEndpoints[] = {
    {"GET", "/api/v1/items/%u", 30},
    {"GET", "/api/v1/items?page=%u", 15},
    {"GET", "/api/v1/users/%u/profile", 12},
    {"POST", "/api/v1/orders", 8},
    {"GET", "/api/v1/orders/%u", 8},
    {"POST", "/api/v1/login", 4},
    {"GET", "/health", 10},
    {"GET", "/static/app.js", 8},
    {"PUT", "/api/v1/users/%u", 3},
    {"DELETE", "/api/v1/items/%u", 2},
};

/// Relative rate by hour of day and weekday: low at night, peak mid-afternoon.
double rate_factor(Micros t) {
  const double day = std::floor(static_cast<double>(t) / static_cast<double>(kMicrosPerDay));
  const double hour = (static_cast<double>(t) - day * static_cast<double>(kMicrosPerDay)) /
                      static_cast<double>(kMicrosPerHour);
  const auto weekday = static_cast<long long>(day + 3) % 7;  // 0 = Monday
  const double diurnal = 1.0 + 0.7 * std::sin(2 * std::numbers::pi * (hour - 9.0) / 24.0);
  return diurnal * (weekday >= 5 ? 0.6 : 1.0);
}

std::string clf_time(Micros t) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto iso = format_utc(t);  // 2026-12-07T03:14:38Z
  const int month = std::stoi(iso.substr(5, 2));
  return iso.substr(8, 2) + "/" + kMonths[month - 1] + "/" + iso.substr(0, 4) + ":" +
         iso.substr(11, 8) + " +0000";
}

}  // namespace

void generate_log(const GenerateOptions& o, const std::function<void(std::string_view)>& sink) {
  Random rng(o.seed);
  double total_weight = 0;
  for (const auto& e : kEndpoints) total_weight += e.weight;
  const std::uint32_t clients = std::max<std::uint32_t>(o.clients, 4);
  Micros now = o.start;
  std::uint32_t burst_client = 0;
  std::uint64_t burst_left = 0;
  std::string line;
  std::string path;
  char ip[32];
  for (std::uint64_t n = 0; n < o.lines; ++n) {
    std::uint32_t client = 0;
    if (burst_left > 0) {
      --burst_left;
      client = burst_client;
      now += static_cast<Micros>(rng.exponential(150.0) * 1e6);  // ~150 requests/s
    } else {
      now += static_cast<Micros>(rng.exponential(o.mean_rps * rate_factor(now)) * 1e6);
      const double u = rng.uniform();
      if (u < 0.12) {
        client = static_cast<std::uint32_t>(rng.below(3));  // three heavy hitters
      } else {
        // Log-uniform rank: Zipf-like (s ~ 1) over the other clients.
        const double rank = std::exp(rng.uniform() * std::log(static_cast<double>(clients - 2)));
        client = 3 + std::min<std::uint32_t>(clients - 4, static_cast<std::uint32_t>(rank) - 1);
      }
      if (rng.uniform() < o.burst_probability) {
        burst_client = client;
        burst_left = 20 + rng.below(181);
      }
    }
    double pick = rng.uniform() * total_weight;
    const Endpoint* e = &kEndpoints[0];
    for (const auto& candidate : kEndpoints) {
      e = &candidate;
      if ((pick -= candidate.weight) < 0) break;
    }
    path.assign(e->path);
    if (const auto at = path.find("%u"); at != std::string::npos) {
      path.replace(at, 2, std::to_string(1 + rng.below(5000)));
    }
    std::snprintf(ip, sizeof ip, "10.%u.%u.%u", (client >> 16) & 255, (client >> 8) & 255,
                  client & 255);
    const bool named = client % 10 < 7;
    const std::string user = named ? "user" + std::to_string(client) : "";
    const std::string key = named ? "key-" + std::to_string(client * 2654435761u % 1000003u) : "";
    const double s = rng.uniform();
    const int status = burst_left > 0 && s < 0.3 ? 429
                       : s < 0.9                 ? 200
                       : s < 0.96                ? 404
                       : s < 0.99                ? 304
                                                 : 500;
    const auto bytes = 200 + rng.below(20000);
    line.clear();
    if (o.format == LogFormat::combined) {
      line += ip;
      line += " - ";
      line += named ? user : "-";
      line += " [" + clf_time(now) + "] \"";
      line += e->method;
      line += ' ';
      line += path;
      line += " HTTP/1.1\" " + std::to_string(status) + " " + std::to_string(bytes) +
              " \"-\" \"loadgen/1.0\" \"" + (named ? key : "-") + "\"";
    } else {
      const auto iso = format_utc(now);
      char frac[8];
      std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(now / 1000 % 1000));
      line += "{\"time\":\"" + iso.substr(0, 19) + frac + "Z\",\"remote_addr\":\"" + ip + "\"";
      if (named) line += ",\"remote_user\":\"" + user + "\",\"api_key\":\"" + key + "\"";
      line += ",\"method\":\"" + std::string(e->method) + "\",\"path\":\"" + path +
              "\",\"status\":" + std::to_string(status) + ",\"bytes\":" + std::to_string(bytes) +
              "}";
    }
    sink(line);
  }
}

}  // namespace ratelimit::planning
