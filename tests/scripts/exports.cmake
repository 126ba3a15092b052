# External check of the exports: NetworkX and igraph read back every format
# of the shipped sample and of a generated graph of about 120,000 edges, for
# the whole graph and a slice, as the REST API reports them
# (docs/analytics.md, "Exports"). The system's python3 on purpose: Debian's
# python3-networkx (2.8) and python3-igraph are its packages, a virtualenv's
# python3 first on PATH has neither. Skipped (77) when they are missing.
if(EXISTS /usr/bin/python3)
  add_test(NAME integration.export_external_check
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/export_check.py
                   $<TARGET_FILE:tlflow> ${PROJECT_SOURCE_DIR}/samples/x-v2-sample.ndjson)
else()
  add_test(NAME integration.export_external_check
           COMMAND ${CMAKE_COMMAND} -E echo "SKIP: /usr/bin/python3 is missing")
  set_tests_properties(integration.export_external_check PROPERTIES DISABLED TRUE)
endif()
set_tests_properties(integration.export_external_check PROPERTIES
  LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 600)
