# What is committed: nothing ignored yet tracked, no machine paths, no
# references outside the repository, temp files under TMPDIR, executable
# scripts (scripts/check-repo.sh). Skipped (77) outside a git checkout.
add_test(NAME check.repo COMMAND ${PROJECT_SOURCE_DIR}/scripts/check-repo.sh)
set_tests_properties(check.repo PROPERTIES LABELS check SKIP_RETURN_CODE 77 TIMEOUT 60)

# The vendored libraries of the web view are the pinned npm packages' files
# (scripts/vendor-web.sh, web/vendor/README.md). Skipped (77) without npm or
# its registry.
add_test(NAME check.vendor_web COMMAND ${PROJECT_SOURCE_DIR}/scripts/vendor-web.sh)
set_tests_properties(check.vendor_web PROPERTIES LABELS check SKIP_RETURN_CODE 77 TIMEOUT 120)
