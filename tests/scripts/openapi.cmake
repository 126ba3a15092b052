# OpenAPI conformance: the running binary against api/openapi.yaml.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME integration.openapi_conformance
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/openapi_conformance.py
                   $<TARGET_FILE:tlflow> ${PROJECT_SOURCE_DIR}/api/openapi.yaml)
  set_tests_properties(integration.openapi_conformance PROPERTIES
    LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
