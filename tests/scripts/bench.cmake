# The benchmark scripts' command lines (the benchmarks themselves are not
# tests: build/bench/*, docs/extraction-rules.md).
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME check.extract_baseline_cli
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/extract_baseline_test.sh ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR})
  set_tests_properties(check.extract_baseline_cli PROPERTIES LABELS check TIMEOUT 60)
endif()
# snapshot_bench on a small graph: its command line works and both snapshot
# modes go through (the figures are not checked: the bench is not a test).
# Only when the benchmarks are built (scripts/tsan.sh builds none).
if(TLFLOW_BUILD_BENCH)
  add_test(NAME check.snapshot_bench_cli
           COMMAND sh -c "d=\$(mktemp -d) && rmdir \"\$d\" && \"$1\" --data-dir \"\$d\" --vertices 20000 --edges 100000 --tail 2000 --batch 5000; rc=\$?; rm -rf \"\$d\"; exit \$rc"
                   snapshot_bench $<TARGET_FILE:snapshot_bench>)
  set_tests_properties(check.snapshot_bench_cli PROPERTIES LABELS check TIMEOUT 300
                       PASS_REGULAR_EXPRESSION "longest write stall: [0-9.]+ ms compacting vs [0-9.]+ ms locked")
endif()
