# Fails when a file includes a header of a box (a part of the data-flow
# picture, see the top CMakeLists.txt) that its target does not depend on.
# All of src/ is one include root, so the compiler alone would accept
# `#include "store/memory/wal.hpp"` from an extractor; this check is what
# makes the target graph binding. Run as a build step of every target
# (tlflow_check_includes() in the top CMakeLists.txt), and by hand:
#   cmake -DTARGET=tlflow_extract -DALLOWED="extract|model|util" \
#         -DFILES="src/extract/extract.cpp|..." -P cmake/check_includes.cmake
# ALLOWED: the boxes the target may include (its own, the boxes it links and
# their public dependencies); FILES: the files to read. Both '|'-separated.
# Quoted includes naming no box ("support/skip.hpp", a file next to the
# includer) are not checked.
cmake_minimum_required(VERSION 3.18)

foreach(v TARGET ALLOWED FILES)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_includes.cmake: -D${v}=... is required")
  endif()
endforeach()
string(REPLACE "|" ";" allowed "${ALLOWED}")
string(REPLACE "|" ";" files "${FILES}")

# The box a quoted include belongs to, or "" for none. The first match wins.
function(box_of include out)
  set(map
    "tlflow/gremlin/" gremlin
    "tlflow/config.hpp" config
    "tlflow/" model
    "config_internal.hpp" config
    "util/" util
    "extract/" extract
    "sources/" sources
    "tracking/" tracking
    "pipeline/" pipeline
    "store/memory/" store_memory
    "store/gremlin/" store_gremlin
    "gremlin/" gremlin
    "api/" api)
  list(LENGTH map n)
  math(EXPR last "${n} - 1")
  foreach(i RANGE 0 ${last} 2)
    list(GET map ${i} prefix)
    string(LENGTH "${prefix}" len)
    string(SUBSTRING "${include}" 0 ${len} head)
    if(head STREQUAL prefix)
      math(EXPR j "${i} + 1")
      list(GET map ${j} box)
      set(${out} ${box} PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out} "" PARENT_SCOPE)
endfunction()

set(errors "")
foreach(f ${files})
  if(NOT EXISTS "${f}")
    continue() # removed since the last configure; the next one drops it
  endif()
  file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line ${lines})
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\".*" "\\1" inc "${line}")
    box_of("${inc}" box)
    if(box AND NOT box IN_LIST allowed)
      string(APPEND errors
        "  ${f}: #include \"${inc}\" is box '${box}', which ${TARGET} does not depend on\n")
    endif()
  endforeach()
endforeach()

if(errors)
  string(REPLACE ";" ", " allowed_text "${allowed}")
  message(FATAL_ERROR "include check of ${TARGET} failed:\n${errors}"
    "${TARGET} may include the boxes: ${allowed_text}.\n"
    "Either this include goes against the data flow (use the port, or move the code), "
    "or the dependency is intended: then declare it with target_link_libraries in CMake.")
endif()
