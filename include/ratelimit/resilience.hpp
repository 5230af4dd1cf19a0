#pragma once
/// @file resilience.hpp
/// Every resilience component of the core library in one include (see
/// docs/resilience.md). The Redis lease store is ratelimit/redis_lease_store.hpp.

#include "ratelimit/resilience/adaptive_client.hpp"
#include "ratelimit/resilience/adaptive_concurrency.hpp"
#include "ratelimit/resilience/adaptive_sinks.hpp"
#include "ratelimit/resilience/aimd.hpp"
#include "ratelimit/resilience/bandwidth_limiter.hpp"
#include "ratelimit/resilience/behavior_scores.hpp"
#include "ratelimit/resilience/breaker_registry.hpp"
#include "ratelimit/resilience/circuit_breaker.hpp"
#include "ratelimit/resilience/client_limiter.hpp"
#include "ratelimit/resilience/concurrency_limiter.hpp"
#include "ratelimit/resilience/error_rate_controller.hpp"
#include "ratelimit/resilience/errors.hpp"
#include "ratelimit/resilience/http_hints.hpp"
#include "ratelimit/resilience/keyed_concurrency_limiter.hpp"
#include "ratelimit/resilience/layered_limiter.hpp"
#include "ratelimit/resilience/lease_store.hpp"
#include "ratelimit/resilience/load_based_limits.hpp"
#include "ratelimit/resilience/load_signals.hpp"
#include "ratelimit/resilience/local_bucket.hpp"
#include "ratelimit/resilience/rate_limited.hpp"
#include "ratelimit/resilience/shared_circuit_breaker.hpp"
#include "ratelimit/resilience/sleeper.hpp"
