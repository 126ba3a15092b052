# scripts/install-deps.sh left nothing to install (its --check lists what is
# missing: Debian packages, or tests/support/js/node_modules not made from
# the committed lockfile). scripts/test.sh runs the install before CTest.
add_test(NAME check.install_deps COMMAND ${PROJECT_SOURCE_DIR}/scripts/install-deps.sh --check)
set_tests_properties(check.install_deps PROPERTIES LABELS check TIMEOUT 120)
