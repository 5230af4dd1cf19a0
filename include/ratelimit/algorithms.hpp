#pragma once
/// @file algorithms.hpp
/// The six algorithms of spec/algorithms.md as pure step functions
/// `(spec, state, now, cost) -> (decision, state)`. One header each; this one
/// includes them all.

#include "ratelimit/algorithms/fixed_window.hpp"
#include "ratelimit/algorithms/gcra.hpp"
#include "ratelimit/algorithms/leaky_bucket.hpp"
#include "ratelimit/algorithms/sliding_log.hpp"
#include "ratelimit/algorithms/sliding_window.hpp"
#include "ratelimit/algorithms/token_bucket.hpp"
