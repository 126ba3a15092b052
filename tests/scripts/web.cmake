# The web view's pure JavaScript modules (web/sse.js, web/layout.js) under
# Node: tests/scripts/web_js_test.mjs. Skipped (77) without node.
find_program(TLFLOW_NODE node)
if(TLFLOW_NODE)
  add_test(NAME unit.web_js_test
           COMMAND ${TLFLOW_NODE} ${CMAKE_CURRENT_LIST_DIR}/web_js_test.mjs ${PROJECT_SOURCE_DIR}/web)
  set_tests_properties(unit.web_js_test PROPERTIES LABELS unit TIMEOUT 60)
else()
  add_test(NAME unit.web_js_test COMMAND ${CMAKE_COMMAND} -E echo "SKIPPED: node is not installed")
  set_tests_properties(unit.web_js_test PROPERTIES LABELS unit SKIP_REGULAR_EXPRESSION "SKIPPED")
endif()
