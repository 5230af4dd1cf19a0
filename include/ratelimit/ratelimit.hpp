#pragma once
/// @file ratelimit.hpp
/// Everything public, in one include.

#include "ratelimit/algorithms.hpp"
#include "ratelimit/decision.hpp"
#include "ratelimit/limit_spec.hpp"
#include "ratelimit/limiter.hpp"
#include "ratelimit/memory_store.hpp"
#include "ratelimit/store.hpp"
#include "ratelimit/time.hpp"
