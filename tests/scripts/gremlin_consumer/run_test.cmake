# integration.gremlin_consumer (tests/scripts/gremlin.cmake): installs the
# Gremlin client package from BUILD_DIR into WORK_DIR/prefix, builds the
# consumer project against it alone, runs the example against the test
# server, and removes WORK_DIR.
cmake_minimum_required(VERSION 3.18)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("${out}")
  if(NOT rc EQUAL 0)
    file(REMOVE_RECURSE ${WORK_DIR})
    message(FATAL_ERROR "gremlin consumer: ${what} failed (${rc})")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --component gremlin --prefix ${prefix})
# Only what the package installs may be found: no tlflow source or build
# directory is on any path given to the consumer.
run("configure" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
run("build" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run("run" sh ${RUN_SCRIPT} ${LAUNCHER} ${WORK_DIR}/build/gremlin_client)
file(REMOVE_RECURSE ${WORK_DIR})
