#include "commands.hpp"
namespace ratelimit::cli { int run_conformance(const ConformanceOptions&) { return 1; } }
