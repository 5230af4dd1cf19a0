# Runs the install test: install, configure + build the consumer, run it.
#
#   cmake -DBUILD_DIR=... -DPREFIX=... -DCONSUMER_SOURCE_DIR=... -DCONSUMER_BINARY_DIR=...
#         [-DCONFIG=RelWithDebInfo] [-DGENERATOR=Ninja] [-DCXX_COMPILER=/usr/bin/c++]
#         [-DEXTRA_FLAGS="-fsanitize=..."] [-DEXPECT_CLI=ON]
#         -P run_install_test.cmake
#
# Every step must succeed; the first failure ends the script with an error
# (a non-zero exit status, so CTest reports the test as failed).

cmake_minimum_required(VERSION 3.25)

foreach(_var IN ITEMS BUILD_DIR PREFIX CONSUMER_SOURCE_DIR CONSUMER_BINARY_DIR)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "run_install_test.cmake: -D${_var}=... is required")
  endif()
endforeach()

# Runs one step, echoing its command line; fails the test if it fails.
function(run_step name)
  string(REPLACE ";" " " _shown "${ARGN}")
  message(STATUS "[${name}] ${_shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "[${name}] failed (${_rc})")
  endif()
endfunction()

# Start clean: stale files in the prefix could hide a missing install rule,
# and a stale consumer cache could point at an old package.
file(REMOVE_RECURSE "${PREFIX}" "${CONSUMER_BINARY_DIR}")

# 1. Install the build tree into the scratch prefix.
set(_install_cmd "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}")
if(CONFIG)
  list(APPEND _install_cmd --config "${CONFIG}")
endif()
run_step(install ${_install_cmd})

# The pieces a user relies on must be there.
set(_expected
  include/ratelimit/ratelimit.hpp
  include/ratelimit/limiter.hpp
  include/ratelimit/algorithms/token_bucket.hpp)
if(EXPECT_CLI)
  list(APPEND _expected bin/ratelimit)
endif()
foreach(_rel IN LISTS _expected)
  if(NOT EXISTS "${PREFIX}/${_rel}")
    message(FATAL_ERROR "[install] missing ${PREFIX}/${_rel}")
  endif()
endforeach()
file(GLOB_RECURSE _libs "${PREFIX}/lib*/libratelimit.a")
file(GLOB_RECURSE _configs "${PREFIX}/lib*/cmake/ratelimit/ratelimitConfig.cmake")
if(NOT _libs OR NOT _configs)
  message(FATAL_ERROR "[install] libratelimit.a or ratelimitConfig.cmake missing under ${PREFIX}")
endif()
# Only public headers: nothing from src/ may leak into the include tree.
file(GLOB_RECURSE _headers RELATIVE "${PREFIX}/include" "${PREFIX}/include/*")
foreach(_h IN LISTS _headers)
  if(NOT _h MATCHES "^ratelimit/.*\\.hpp$")
    message(FATAL_ERROR "[install] unexpected file in include/: ${_h}")
  endif()
endforeach()

# 2. Configure the consumer against the installed package only.
set(_configure_cmd "${CMAKE_COMMAND}"
  -S "${CONSUMER_SOURCE_DIR}" -B "${CONSUMER_BINARY_DIR}"
  "-DCMAKE_PREFIX_PATH=${PREFIX}"
  # No user/system package registry: the package must come from PREFIX.
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
  # A clean, uncached compile of the consumer.
  "-DCMAKE_CXX_COMPILER_LAUNCHER=")
if(GENERATOR)
  list(APPEND _configure_cmd -G "${GENERATOR}")
endif()
if(CXX_COMPILER)
  list(APPEND _configure_cmd "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
if(CONFIG)
  list(APPEND _configure_cmd "-DCMAKE_BUILD_TYPE=${CONFIG}")
endif()
if(EXTRA_FLAGS)
  list(APPEND _configure_cmd
    "-DCMAKE_CXX_FLAGS=${EXTRA_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${EXTRA_FLAGS}")
endif()
# CMAKE_CXX_COMPILER_LAUNCHER from the environment would re-enable ccache.
unset(ENV{CMAKE_CXX_COMPILER_LAUNCHER})
run_step(configure ${_configure_cmd})

# The package found must be the one just installed.
file(STRINGS "${CONSUMER_BINARY_DIR}/CMakeCache.txt" _dir_line REGEX "^ratelimit_DIR:")
string(REGEX REPLACE "^ratelimit_DIR:[A-Z]+=" "" _found_dir "${_dir_line}")
file(REAL_PATH "${PREFIX}" _real_prefix)
if(EXISTS "${_found_dir}")
  file(REAL_PATH "${_found_dir}" _found_dir)
endif()
string(FIND "${_found_dir}" "${_real_prefix}/" _at)
if(NOT _at EQUAL 0)
  message(FATAL_ERROR "[configure] found ratelimit in '${_found_dir}', not under ${_real_prefix}")
endif()

# 3. Build it.
set(_build_cmd "${CMAKE_COMMAND}" --build "${CONSUMER_BINARY_DIR}")
if(CONFIG)
  list(APPEND _build_cmd --config "${CONFIG}")
endif()
run_step(build ${_build_cmd})

# 4. Run it: it checks real decisions and exits non-zero on a mismatch.
find_program(_consumer ratelimit_consumer
  PATHS "${CONSUMER_BINARY_DIR}" "${CONSUMER_BINARY_DIR}/${CONFIG}"
  NO_DEFAULT_PATH NO_CACHE)
if(NOT _consumer)
  message(FATAL_ERROR "[run] ratelimit_consumer not found in ${CONSUMER_BINARY_DIR}")
endif()
run_step(run "${_consumer}")

message(STATUS "install test passed")
