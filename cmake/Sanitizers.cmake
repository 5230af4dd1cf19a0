# RATELIMIT_SANITIZE applies to every target of the build (library, tests, tools).
if(RATELIMIT_SANITIZE)
  set(_san "-fsanitize=${RATELIMIT_SANITIZE}" -fno-omit-frame-pointer)
  if(RATELIMIT_SANITIZE MATCHES "undefined")
    list(APPEND _san -fno-sanitize-recover=all)
  endif()
  add_compile_options(${_san})
  add_link_options(${_san})
  # GCC warns (-Wtsan) that ThreadSanitizer does not model
  # std::atomic_thread_fence, which Boost.Asio's headers use. Our own code
  # avoids standalone fences under TSan (src/store/memory/epoch.cpp).
  if(RATELIMIT_SANITIZE MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-tsan)
  endif()
endif()

# RATELIMIT_FUZZ instruments every target for libFuzzer (the fuzz targets add
# -fsanitize=fuzzer at link time), with ASan and UBSan.
if(RATELIMIT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "RATELIMIT_FUZZ needs clang (CXX=clang++)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
