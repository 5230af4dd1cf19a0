# Install rules and the exported CMake package `ratelimit`.
#
#   cmake --install <build> --prefix <prefix>
#
# installs
#   <prefix>/lib/libratelimit.a
#   <prefix>/include/ratelimit/**.hpp
#   <prefix>/bin/ratelimit                        (rule in tools/ratelimit/CMakeLists.txt)
#   <prefix>/lib/cmake/ratelimit/ratelimitConfig.cmake, ...ConfigVersion.cmake,
#                                ratelimitTargets*.cmake
#
# so that another project can write
#
#   find_package(ratelimit 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE ratelimit::ratelimit)
#
# tests/install checks exactly that against a real install.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(RATELIMIT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/ratelimit"
    CACHE STRING "Where the ratelimit CMake package files are installed (relative to the prefix)")
mark_as_advanced(RATELIMIT_INSTALL_CMAKEDIR)

# The library. Its usage requirements travel with the export: the include
# directory ($<INSTALL_INTERFACE:include> in src/CMakeLists.txt, so no
# INCLUDES DESTINATION here; keep the two in step), and Threads
# (public). ratelimit_warnings
# is wrapped in $<BUILD_INTERFACE:...>, so it is not exported.
install(TARGETS ratelimit ratelimit_redis ratelimit_policy
  EXPORT ratelimitTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT ratelimit_development
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT ratelimit_runtime
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT ratelimit_runtime)

# Public headers: everything under include/ratelimit, nothing else.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/ratelimit"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  COMPONENT ratelimit_development
  FILES_MATCHING PATTERN "*.hpp")

install(EXPORT ratelimitTargets
  NAMESPACE ratelimit::
  FILE ratelimitTargets.cmake
  DESTINATION "${RATELIMIT_INSTALL_CMAKEDIR}"
  COMPONENT ratelimit_development)

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/ratelimitConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/ratelimitConfig.cmake"
  INSTALL_DESTINATION "${RATELIMIT_INSTALL_CMAKEDIR}")

# 0.x: SameMajorVersion treats every 0.y as compatible with a request for 0.z
# (z <= y); tighten to SameMinorVersion if 0.x releases break the API.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/ratelimitConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)

install(FILES
  "${PROJECT_BINARY_DIR}/ratelimitConfig.cmake"
  "${PROJECT_BINARY_DIR}/ratelimitConfigVersion.cmake"
  DESTINATION "${RATELIMIT_INSTALL_CMAKEDIR}"
  COMPONENT ratelimit_development)
