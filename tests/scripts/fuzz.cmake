# Every libFuzzer target for a short time (scripts/fuzz.sh 10): its own clang
# build under this build tree. Skipped (77) without clang. Longer runs:
# scripts/fuzz.sh 600 (docs/extraction-rules.md, "Fuzzing").
add_test(NAME fuzz.short COMMAND ${PROJECT_SOURCE_DIR}/scripts/fuzz.sh 10)
set_tests_properties(fuzz.short PROPERTIES LABELS fuzz SKIP_RETURN_CODE 77 TIMEOUT 900
  ENVIRONMENT "TLFLOW_FUZZ_BUILD_DIR=${CMAKE_BINARY_DIR}/fuzz-build")
