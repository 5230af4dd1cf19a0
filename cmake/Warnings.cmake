# Warnings for our own targets only (third-party headers come in as SYSTEM).
add_library(ratelimit_warnings INTERFACE)
target_compile_options(ratelimit_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
# GCC 12 reports false -Wrestrict positives inside libstdc++'s std::string
# concatenation at -O3 (GCC bug 105329); they are not about our code.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(ratelimit_warnings INTERFACE -Wno-restrict)
endif()
if(RATELIMIT_WERROR)
  target_compile_options(ratelimit_warnings INTERFACE -Werror)
endif()
# Sanitizer instrumentation makes GCC 12 report -Wmaybe-uninitialized inside
# libstdc++'s std::variant and std::vector moves (false positives: ASan
# itself would catch a real uninitialized read). The normal build keeps it.
if(RATELIMIT_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(ratelimit_warnings INTERFACE -Wno-maybe-uninitialized)
endif()
