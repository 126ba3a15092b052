# Tests clean up after themselves. Every test runs with its own TMPDIR,
# <build>/test-tmp/<test name> (std::filesystem::temp_directory_path(),
# mkdtemp under it, mktemp(1) and Python's tempfile all honour it, and so do
# the processes a test spawns); the fixture `tlflow_temp_files` empties them
# all before the first test, and its cleanup test `hygiene.temp_files` fails
# after the last one, listing each test that left something there. CTest
# adds both to any selection (-R, -L, -j N).
#
# Test properties can only be set in the directory that added the test, so
# the properties are set by calls deferred to the end of each directory
# still being read (this one and its parents); a directory read later calls
# tlflow_private_tmpdir() at its end. Tests that escape both are reported
# with a warning at configure time. The deployment tests are exempt: they run
# commands in a chroot and a container, where the host's TMPDIR is no path.
include_guard(GLOBAL)
if(CMAKE_VERSION VERSION_LESS 3.19)
  message(STATUS "temp-file hygiene check off: needs CMake 3.19 (cmake_language(DEFER))")
  return()
endif()

function(tlflow_private_tmpdir)
  get_property(tests DIRECTORY PROPERTY TESTS)
  foreach(t IN LISTS tests)
    if(t MATCHES "^hygiene\\.")
      continue()
    endif()
    # The deployment tests run commands inside a chroot and a container,
    # where a TMPDIR of the host's build tree does not exist (apt's
    # maintainer scripts then fail); they keep the system's temporary
    # directory and clean up their own roots.
    if(t MATCHES "^deploy\\.")
      set_property(GLOBAL APPEND PROPERTY TLFLOW_PRIVATE_TMPDIR_EXEMPT ${t})
      continue()
    endif()
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT "TMPDIR=${CMAKE_BINARY_DIR}/test-tmp/${t}")
    set_property(TEST ${t} APPEND PROPERTY FIXTURES_REQUIRED tlflow_temp_files)
    set_property(GLOBAL APPEND PROPERTY TLFLOW_PRIVATE_TMPDIR_TESTS ${t})
  endforeach()
endfunction()

function(_tlflow_all_tests dir out)
  get_property(tests DIRECTORY ${dir} PROPERTY TESTS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    _tlflow_all_tests(${sub} sub_tests)
    list(APPEND tests ${sub_tests})
  endforeach()
  set(${out} ${tests} PARENT_SCOPE)
endfunction()

# At the end of the top directory, when every test exists.
function(_tlflow_temp_files_fixture)
  tlflow_private_tmpdir()
  get_property(covered GLOBAL PROPERTY TLFLOW_PRIVATE_TMPDIR_TESTS)
  get_property(exempt GLOBAL PROPERTY TLFLOW_PRIVATE_TMPDIR_EXEMPT)
  _tlflow_all_tests(${PROJECT_SOURCE_DIR} all)
  foreach(t IN LISTS all)
    if(NOT t IN_LIST covered AND NOT t IN_LIST exempt AND NOT t MATCHES "^hygiene\\.")
      message(WARNING "test ${t} has no private TMPDIR and escapes hygiene.temp_files: call "
                      "tlflow_private_tmpdir() at the end of the directory that adds it (with "
                      "tests/scripts/hygiene.cmake included before that directory is read).")
    endif()
  endforeach()
  set(root ${CMAKE_BINARY_DIR}/test-tmp)
  set(script ${PROJECT_SOURCE_DIR}/tests/scripts/temp_files.sh)
  add_test(NAME hygiene.temp_files_setup COMMAND sh ${script} setup ${root} ${covered})
  add_test(NAME hygiene.temp_files COMMAND sh ${script} check ${root})
  set_tests_properties(hygiene.temp_files_setup PROPERTIES FIXTURES_SETUP tlflow_temp_files
                       LABELS check TIMEOUT 60)
  set_tests_properties(hygiene.temp_files PROPERTIES FIXTURES_CLEANUP tlflow_temp_files
                       LABELS check TIMEOUT 60)
endfunction()

set(_dir ${CMAKE_CURRENT_SOURCE_DIR})
while(NOT _dir STREQUAL PROJECT_SOURCE_DIR)
  cmake_language(DEFER DIRECTORY ${_dir} CALL tlflow_private_tmpdir)
  get_property(_dir DIRECTORY ${_dir} PROPERTY PARENT_DIRECTORY)
endwhile()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL _tlflow_temp_files_fixture)
