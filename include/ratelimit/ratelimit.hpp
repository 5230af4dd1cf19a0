#pragma once
/// @file ratelimit.hpp
/// Everything public of the core library (ratelimit::ratelimit), in one
/// include. The Redis store (ratelimit/redis_store.hpp) and the policy engine
/// (ratelimit/policy/*.hpp) are libraries of their own.

#include "ratelimit/algorithms.hpp"
#include "ratelimit/attribute_store.hpp"
#include "ratelimit/decision.hpp"
#include "ratelimit/guarded_store.hpp"
#include "ratelimit/http/rate_limit_headers.hpp"
#include "ratelimit/limit_spec.hpp"
#include "ratelimit/limiter.hpp"
#include "ratelimit/memory_store.hpp"
#include "ratelimit/resilience.hpp"
#include "ratelimit/store.hpp"
#include "ratelimit/time.hpp"
