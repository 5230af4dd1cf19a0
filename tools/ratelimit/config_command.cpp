// `ratelimit config check` and `ratelimit config try`: validate a policy file,
// and replay requests through it on an in-memory store and a manual clock.
#include <boost/json.hpp>
#include <iomanip>
#include <iostream>

#include "commands.hpp"
#include "ratelimit/memory_store.hpp"
#include "ratelimit/policy/config_loader.hpp"
#include "ratelimit/policy/engine.hpp"

namespace ratelimit::cli {
namespace json = boost::json;

namespace {

std::string summary(const policy::PolicyConfig& c) {
  std::size_t limits = c.limits.size();
  for (const auto& t : c.tiers) limits += t.limits.size();
  for (const auto& e : c.endpoints) limits += e.limits.size();
  return std::to_string(c.tiers.size()) + " tiers, " + std::to_string(limits) + " limits, " +
         std::to_string(c.endpoints.size()) + " endpoints, " +
         std::to_string(c.whitelist.size() + c.denylist.size()) + " list entries";
}

std::string ms_text(Micros us) {
  if (us == kInfinite) return "never";
  return std::to_string((us + 999) / 1000) + "ms";
}

}  // namespace

int run_config_check(const ConfigCheckOptions& options) {
  int failed = 0;
  json::array results;
  for (const auto& file : options.files) {
    try {
      const auto config = policy::load_config_file(file);
      if (options.json) {
        results.push_back(json::object{{"file", file}, {"valid", true}, {"errors", json::array{}}});
      } else {
        std::cout << file << ": OK (" << summary(config) << ")\n";
      }
    } catch (const policy::ConfigError& e) {
      ++failed;
      if (options.json) {
        json::array errors;
        for (const auto& i : e.issues()) {
          errors.push_back(json::object{{"file", i.file},
                                        {"line", i.line},
                                        {"column", i.column},
                                        {"message", i.message},
                                        {"hint", i.hint}});
        }
        results.push_back(
            json::object{{"file", file}, {"valid", false}, {"errors", std::move(errors)}});
      } else {
        for (const auto& i : e.issues()) std::cerr << i.to_string() << '\n';
      }
    }
  }
  if (options.json) std::cout << json::serialize(results) << '\n';
  return failed == 0 ? 0 : 1;
}

int run_config_try(const ConfigTryOptions& options) {
  const auto config = policy::load_config_file(options.file);
  ManualClock clock(0);
  MemoryStore store;
  const auto attributes = make_memory_attribute_store();
  policy::PolicyEngine engine(store, *attributes, clock, config);
  const policy::Request request{.user = options.user,
                                .api_key = options.api_key,
                                .ip = options.ip,
                                .method = options.method,
                                .path = options.path,
                                .cost = options.cost,
                                .tier = options.tier};
  json::array out;
  std::int64_t admitted = 0;
  for (std::uint64_t i = 0; i < options.repeat; ++i) {
    if (i > 0) clock.advance(options.every);
    const auto d = engine.decide(request);
    admitted += d.allowed ? 1 : 0;
    if (options.json) {
      out.push_back(json::object{
          {"at_ms", clock.now() / 1000},
          {"allowed", d.allowed},
          {"scope", d.scope},
          {"tier", d.tier},
          {"cost", d.cost},
          {"remaining", d.decision.remaining},
          {"retry_after_ms", d.decision.retry_after == kInfinite
                                 ? json::value(nullptr)
                                 : json::value((d.decision.retry_after + 999) / 1000)}});
      continue;
    }
    std::cout << "t=" << std::setw(8) << ms_text(clock.now()) << "  "
              << (d.allowed ? "allowed" : "DENIED ") << "  tier=" << (d.tier.empty() ? "-" : d.tier)
              << " cost=" << d.cost << " scope=" << (d.scope.empty() ? "-" : d.scope)
              << " remaining=" << d.decision.remaining;
    if (!d.allowed) std::cout << " retry_after=" << ms_text(d.decision.retry_after);
    if (d.whitelisted) std::cout << " (whitelisted)";
    if (d.denylisted) std::cout << " (denylisted: " << d.reason << ")";
    if (d.shadow_denied) std::cout << " (a shadow limit would deny)";
    std::cout << '\n';
  }
  if (options.json) {
    std::cout << json::serialize(
                     json::object{{"admitted", admitted}, {"decisions", std::move(out)}})
              << '\n';
  } else {
    std::cout << admitted << " of " << options.repeat << " admitted\n";
  }
  return 0;
}

}  // namespace ratelimit::cli
