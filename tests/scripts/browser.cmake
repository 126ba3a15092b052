# The web view in a real browser: headless Debian Chromium driven by
# playwright-core against the tlflow binary on loopback, fed posts live
# (tests/browser/web_test.js, docs/web-tests.md). Screenshots of every view
# go to <build>/test-artifacts/web/. Skipped (77) without node, chromium or
# playwright-core.
add_test(NAME integration.web_browser
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/browser_test.sh $<TARGET_FILE:tlflow>
                 ${CMAKE_BINARY_DIR}/test-artifacts/web)
set_tests_properties(integration.web_browser PROPERTIES
  LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 180)
