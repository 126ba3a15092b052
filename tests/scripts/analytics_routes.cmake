# The analytics routes end to end: tlflow on the shipped sample and on a
# generated graph of more than 100,000 edges, read back through GET /edges
# and compared with NetworkX and igraph (analytics_routes_check.py says
# what). Skipped (77) when no python3 imports both.
add_test(NAME check.analytics_routes_networkx_igraph
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/analytics_routes_check.sh $<TARGET_FILE:tlflow>
                 ${PROJECT_SOURCE_DIR}/samples/x-v2-sample.ndjson)
set_tests_properties(check.analytics_routes_networkx_igraph PROPERTIES
  LABELS check SKIP_RETURN_CODE 77 TIMEOUT 1200)
