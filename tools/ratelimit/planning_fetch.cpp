#include "planning_fetch.hpp"

#include <exception>

#include "http_client.hpp"
#include "ratelimit/planning/capacity.hpp"

namespace ratelimit::cli {

std::string fetch_page(const std::string& base_url, const std::string& target) {
  std::string where = base_url;
  while (!where.empty() && where.back() == '/') where.pop_back();
  where += target;
  http_client::Response r;
  try {
    r = http_client::request(http_client::Endpoint::parse(base_url), "GET", target, "", {},
                             std::chrono::seconds(10));
  } catch (const std::exception& e) {
    throw planning::InputError("cannot fetch " + where + ": " + e.what());
  }
  if (r.status == 404) {
    throw planning::InputError("GET " + where + " answered 404: this server has no " +
                               target.substr(0, target.find('?')) +
                               " endpoint (is it an older ratelimitd?)");
  }
  if (r.status != 200) {
    throw planning::InputError("GET " + where + " answered " + std::to_string(r.status) + ": " +
                               r.body.substr(0, 200));
  }
  return r.body;
}

}  // namespace ratelimit::cli
