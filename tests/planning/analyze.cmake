# `ratelimit analyze` (issue 7, part 1): included from CMakeLists.txt.
ratelimit_planning_test(planning_log_parser_test unit log_parser_test.cpp)
ratelimit_planning_test(planning_traffic_analyzer_test unit traffic_analyzer_test.cpp)
ratelimit_planning_test(planning_replay_test unit replay_test.cpp)
ratelimit_planning_test(planning_svg_chart_test unit svg_chart_test.cpp)
ratelimit_planning_test(planning_space_saving_test unit space_saving_test.cpp)

find_package(rapidcheck REQUIRED)
add_executable(fuzz_log_parser log_parser_fuzz_test.cpp)
target_link_libraries(fuzz_log_parser PRIVATE ratelimit_planning ratelimit_warnings rapidcheck GTest::gtest_main)
gtest_discover_tests(fuzz_log_parser
  TEST_PREFIX "fuzz."
  PROPERTIES LABELS "fuzz" ENVIRONMENT "RC_PARAMS=max_success=3000"
  DISCOVERY_TIMEOUT 30)

# The real binary on the shipped sample (examples/logs), the generator that
# made it, and the HTML report in headless Chromium (screenshot kept in
# ${CMAKE_CURRENT_BINARY_DIR}/artifacts).
if(TARGET ratelimit_cli)
  set(_sample ${PROJECT_SOURCE_DIR}/examples/logs/sample-combined.log.gz)
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/artifacts)
  add_test(NAME cli.analyze.sample
           COMMAND ratelimit_cli analyze ${_sample} --api-key-field 4 --top 3)
  set_tests_properties(cli.analyze.sample PROPERTIES PASS_REGULAR_EXPRESSION
    "Read 60000 lines from 1 file\\(s\\) \\(combined\\): 60000 requests, 0 unparseable.*Recommended per-ip limits")
  add_test(NAME cli.analyze.sample_json
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_analyze_test.sh $<TARGET_FILE:ratelimit_cli>
                   ${PROJECT_SOURCE_DIR}/examples/logs ${_out}/cli)
  add_test(NAME cli.analyze.bad_input
           COMMAND ratelimit_cli analyze ${CMAKE_CURRENT_SOURCE_DIR}/bad_lines.log)
  set_tests_properties(cli.analyze.bad_input PROPERTIES PASS_REGULAR_EXPRESSION
    "6 requests, 3 unparseable.*bad_lines.log:2: malformed \\[time\\].*bad_lines.log:5: no client address.*bad_lines.log:8: request is not")
  # Bad flags: exit status 2 and a message naming the flag.
  add_test(NAME cli.analyze.bad_flags
           COMMAND ratelimit_cli analyze ${_sample} --algorithm bogus)
  set_tests_properties(cli.analyze.bad_flags PROPERTIES PASS_REGULAR_EXPRESSION "unknown algorithm 'bogus'")
  add_test(NAME cli.analyze.bad_flags_status
           COMMAND ratelimit_cli analyze ${_sample} --window 5x)
  set_tests_properties(cli.analyze.bad_flags_status PROPERTIES WILL_FAIL TRUE)
  add_test(NAME cli.analyze.html_in_chromium
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/html_screenshot_test.sh $<TARGET_FILE:ratelimit_cli>
                   ${_sample} ${_out}/browser)
  add_test(NAME cli.analyze.docs_flags
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/docs_flags_test.sh $<TARGET_FILE:ratelimit_cli>
                   ${PROJECT_SOURCE_DIR}/docs/planning.md analyze gen-log)
  set_tests_properties(cli.analyze.sample cli.analyze.sample_json cli.analyze.bad_input
                       cli.analyze.docs_flags
                       cli.analyze.bad_flags cli.analyze.bad_flags_status
                       cli.analyze.html_in_chromium PROPERTIES LABELS unit)
endif()
