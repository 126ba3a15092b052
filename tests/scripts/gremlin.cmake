# Gremlin area: the test-server launcher, the official JavaScript driver
# check against it, and the contract suite against a real server (skipped
# unless TLFLOW_TEST_GREMLIN_URL is set).
add_executable(gremlin_test_server_launcher ${CMAKE_CURRENT_LIST_DIR}/gremlin_test_server_main.cpp)
target_link_libraries(gremlin_test_server_launcher PRIVATE tlflow_test_support tlflow_warnings)

add_test(NAME integration.gremlin_js_driver
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/gremlin_js_test.sh
                 $<TARGET_FILE:gremlin_test_server_launcher> ${PROJECT_SOURCE_DIR}/tests/support/js)
set_tests_properties(integration.gremlin_js_driver PROPERTIES
  LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 600)

add_executable(gremlin_real_server_tests ${CMAKE_CURRENT_LIST_DIR}/gremlin_real_server_test.cpp)
target_link_libraries(gremlin_real_server_tests PRIVATE tlflow_test_support tlflow_warnings)
add_test(NAME integration.gremlin_real_server COMMAND gremlin_real_server_tests)
set_tests_properties(integration.gremlin_real_server PROPERTIES
  LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 900)

# The client's documented example, built against tlflow::gremlin in this
# build, run against the test server.
add_executable(gremlin_client_example ${PROJECT_SOURCE_DIR}/docs/examples/gremlin_client.cpp)
target_link_libraries(gremlin_client_example PRIVATE tlflow::gremlin tlflow_warnings)
add_test(NAME integration.gremlin_client_example
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/gremlin_example_test.sh
                 $<TARGET_FILE:gremlin_test_server_launcher> $<TARGET_FILE:gremlin_client_example>)
set_tests_properties(integration.gremlin_client_example PROPERTIES LABELS integration TIMEOUT 120)

# The same example as another project builds it: tlflow_gremlin installed
# (component gremlin) into a prefix inside this build tree, then
# tests/scripts/gremlin_consumer configured with find_package against it,
# built, and run. Fails when the installed package or its export is broken.
add_test(NAME integration.gremlin_consumer
         COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${CMAKE_BINARY_DIR}
                 -DWORK_DIR=${CMAKE_BINARY_DIR}/gremlin-consumer
                 -DCONSUMER_DIR=${CMAKE_CURRENT_LIST_DIR}/gremlin_consumer
                 -DLAUNCHER=$<TARGET_FILE:gremlin_test_server_launcher>
                 -DRUN_SCRIPT=${CMAKE_CURRENT_LIST_DIR}/gremlin_example_test.sh
                 -DCXX=${CMAKE_CXX_COMPILER} -DBUILD_TYPE=$<CONFIG>
                 -P ${CMAKE_CURRENT_LIST_DIR}/gremlin_consumer/run_test.cmake)
set_tests_properties(integration.gremlin_consumer PROPERTIES LABELS integration TIMEOUT 600)
