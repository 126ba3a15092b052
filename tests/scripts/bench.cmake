# The benchmark scripts' command lines (the benchmarks themselves are not
# tests: build/bench/*, docs/extraction-rules.md).
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME check.extract_baseline_cli
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/extract_baseline_test.sh ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR})
  set_tests_properties(check.extract_baseline_cli PROPERTIES LABELS check TIMEOUT 60)
endif()
