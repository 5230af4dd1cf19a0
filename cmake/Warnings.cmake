# Warnings for our own targets only (third-party headers come in as SYSTEM).
add_library(ratelimit_warnings INTERFACE)
target_compile_options(ratelimit_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
if(RATELIMIT_WERROR)
  target_compile_options(ratelimit_warnings INTERFACE -Werror)
endif()
