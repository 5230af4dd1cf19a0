#pragma once
// GET a page of a running ratelimitd for the planning commands (capacity
// --from-metrics, sla --from-service).

#include <string>

namespace ratelimit::cli {

/// The body of GET `base_url` + `target`. Throws planning::InputError naming
/// the URL when the server cannot be reached or does not answer 200 (a 404
/// says the endpoint is absent on that server).
[[nodiscard]] std::string fetch_page(const std::string& base_url, const std::string& target);

}  // namespace ratelimit::cli
