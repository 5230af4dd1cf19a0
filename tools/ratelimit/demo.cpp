#include "commands.hpp"
namespace ratelimit::cli { int run_demo() { return 0; } }
