# scripts/run.sh (the quick start) against this build tree: its banner names
# the port tlflow really listens on (--port, PORT, --config) and /status
# answers there. run.sh configures and builds this tree first (nothing to do
# once tlflow is built) and runs scripts/install-deps.sh (a no-op once run).
add_test(NAME integration.run_sh
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/run_sh_test.sh ${CMAKE_BINARY_DIR})
set_tests_properties(integration.run_sh PROPERTIES LABELS integration TIMEOUT 600)
