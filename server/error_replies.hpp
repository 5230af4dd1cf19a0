#pragma once
// The errors every handler maps the same way: bad input (BadField,
// InvalidRequest) is 400 naming what is wrong, an unavailable store 503.

#include <string>
#include <utility>

#include "exchange.hpp"
#include "json_fields.hpp"
#include "problem.hpp"
#include "ratelimit/store.hpp"

namespace ratelimitd {

/// Runs `handler()` (which returns an HttpReply) and turns those errors into
/// problem+json replies. `on_store_error` runs before a 503 (e.g. to count it).
template <class Handler, class OnStoreError>
HttpReply with_error_replies(Handler&& handler, OnStoreError&& on_store_error) {
  try {
    return std::forward<Handler>(handler)();
  } catch (const BadField& bad) {
    return problem(400, bad.detail, bad.field);
  } catch (const ratelimit::InvalidRequest& e) {
    return problem(400, e.what());
  } catch (const ratelimit::StoreUnavailable& e) {
    std::forward<OnStoreError>(on_store_error)();
    return problem(503, std::string("the store is unavailable: ") + e.what());
  }
}

}  // namespace ratelimitd
