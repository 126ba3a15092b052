# Analytics: the algorithms against NetworkX and igraph, through a driver that
# prints their results as JSON (analytics_check.py says what is compared).
# Skipped (77) when no python3 on PATH, nor Debian's, imports both.
add_executable(analytics_driver ${CMAKE_CURRENT_LIST_DIR}/analytics_driver.cpp)
target_link_libraries(analytics_driver PRIVATE tlflow_analytics tlflow_warnings)
set_target_properties(analytics_driver PROPERTIES TLFLOW_CHECKED_FILES ${CMAKE_CURRENT_LIST_DIR}/analytics_driver.cpp)
set_property(GLOBAL APPEND PROPERTY TLFLOW_CHECKED_TARGETS analytics_driver)
add_test(NAME check.analytics_networkx_igraph
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/analytics_check.sh $<TARGET_FILE:analytics_driver>)
set_tests_properties(check.analytics_networkx_igraph PROPERTIES
  LABELS check SKIP_RETURN_CODE 77 TIMEOUT 600)
