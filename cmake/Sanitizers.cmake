# RATELIMIT_SANITIZE applies to every target of the build (library, tests, tools).
if(RATELIMIT_SANITIZE)
  set(_san "-fsanitize=${RATELIMIT_SANITIZE}" -fno-omit-frame-pointer)
  if(RATELIMIT_SANITIZE MATCHES "undefined")
    list(APPEND _san -fno-sanitize-recover=all)
  endif()
  add_compile_options(${_san})
  add_link_options(${_san})
endif()
