# Checks that every ```cpp block of a Markdown guide appears, line for line,
# in the example programs (which are compiled with warnings as errors and run
# as tests). Leading/trailing blanks and empty lines are ignored; a block may
# leave out nothing in the middle.
#
#   cmake -DDOC=docs/api.md -DEXAMPLES_DIR=examples -P check_doc_snippets.cmake

cmake_minimum_required(VERSION 3.25)

if(NOT DOC OR NOT EXAMPLES_DIR)
  message(FATAL_ERROR "usage: cmake -DDOC=<file.md> -DEXAMPLES_DIR=<dir> -P check_doc_snippets.cmake")
endif()

# Code is full of ';', which CMake lists split on: swap it for a placeholder
# first. Then trim every line and drop empty ones.
function(normalize out text)
  string(REPLACE ";" "<SEMICOLON>" text "${text}")
  string(REPLACE "\r" "" text "${text}")
  string(REGEX REPLACE "[ \t]*\n[ \t]*" "\n" text "\n${text}\n")
  string(REGEX REPLACE "\n\n+" "\n" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

file(GLOB _sources "${EXAMPLES_DIR}/*.cpp")
set(_haystack "")
foreach(_src IN LISTS _sources)
  file(READ "${_src}" _text)
  normalize(_text "${_text}")
  string(APPEND _haystack "${_text}")
endforeach()

# The guide, line by line. '[' and ']' change how CMake splits lists, so they
# get placeholders too while the text is a list.
file(READ "${DOC}" _doc)
string(REPLACE ";" "<SEMICOLON>" _doc "${_doc}")
string(REPLACE "[" "<LBRACKET>" _doc "${_doc}")
string(REPLACE "]" "<RBRACKET>" _doc "${_doc}")
string(REPLACE "\n" ";" _lines "${_doc}")

set(_count 0)
set(_missing 0)
set(_in_block FALSE)
foreach(_line IN LISTS _lines)
  if(NOT _in_block)
    if(_line MATCHES "^[ \t]*```cpp[ \t]*$")
      set(_in_block TRUE)
      set(_code "")
    endif()
    continue()
  endif()
  if(NOT _line MATCHES "^[ \t]*```[ \t]*$")
    string(APPEND _code "${_line}\n")
    continue()
  endif()
  # End of a block: look for it in the examples.
  set(_in_block FALSE)
  math(EXPR _count "${_count} + 1")
  string(REPLACE "<SEMICOLON>" ";" _code "${_code}")
  string(REPLACE "<LBRACKET>" "[" _code "${_code}")
  string(REPLACE "<RBRACKET>" "]" _code "${_code}")
  normalize(_needle "${_code}")
  string(FIND "${_haystack}" "${_needle}" _at)
  if(_at EQUAL -1)
    math(EXPR _missing "${_missing} + 1")
    message(SEND_ERROR "${DOC}: code block ${_count} is not in ${EXAMPLES_DIR}/*.cpp:\n${_code}")
  endif()
endforeach()

if(_in_block)
  message(FATAL_ERROR "${DOC}: unterminated ```cpp block")
endif()
if(_count EQUAL 0)
  message(FATAL_ERROR "${DOC}: no ```cpp blocks found")
endif()
if(_missing GREATER 0)
  message(FATAL_ERROR "${_missing} of ${_count} code blocks do not match the examples")
endif()
message(STATUS "${_count} code blocks of ${DOC} match the examples")
