# Layering that the build enforces (design.md §2). The allowed dependencies are data:
# cmake/layers.txt, read here and by scripts/check-layers.sh.
#
# 1. A module exports only its own headers. Its PUBLIC include directory is not src/ but
#    <build>/module_include/<module>/, which holds one symbolic link, <module> -> src/<module>.
#    So #include "x/y.hpp" compiles only in a target that links latchkey_x, directly or through
#    a PUBLIC dependency whose public headers need it.
# 2. latchkey_check_layers(), called once every module target exists, fails the configure step
#    when a module's target_link_libraries does not name exactly the modules of its row in
#    cmake/layers.txt.
# 3. scripts/check-layers.sh checks every #include under src/ against the same table, including
#    the private folders and the confined third-party headers that (1) cannot see; CI runs it
#    before the build, ctest runs it and its self-test (tests/layers/).

# The table and the module folders (tests/layers/cmake_fixture points them elsewhere).
if(NOT DEFINED LATCHKEY_LAYERS_FILE)
  set(LATCHKEY_LAYERS_FILE ${PROJECT_SOURCE_DIR}/cmake/layers.txt)
endif()
if(NOT DEFINED LATCHKEY_MODULES_DIR)
  set(LATCHKEY_MODULES_DIR ${PROJECT_SOURCE_DIR}/src)
endif()
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${LATCHKEY_LAYERS_FILE})

# The target of a module: latchkey_<module>, but the `latchkey` executable for cli.
function(latchkey_module_target module out)
  if(module STREQUAL "cli")
    set(${out} latchkey PARENT_SCOPE)
  else()
    set(${out} latchkey_${module} PARENT_SCOPE)
  endif()
endfunction()

# Sets LATCHKEY_MODULES (in table order: every module after its dependencies) and, for each
# module, LATCHKEY_DEPS_<module> in the caller's scope.
macro(latchkey_read_layers)
  file(STRINGS ${LATCHKEY_LAYERS_FILE} _layer_lines REGEX "^[a-z_]+:")
  set(LATCHKEY_MODULES)
  foreach(_line IN LISTS _layer_lines)
    string(REGEX MATCH "^([a-z_]+):(.*)$" _ "${_line}")
    set(_name ${CMAKE_MATCH_1})
    if(NOT _name STREQUAL "private" AND NOT _name STREQUAL "header")
      string(STRIP "${CMAKE_MATCH_2}" _deps)
      string(REGEX REPLACE "[ \t]+" ";" _deps "${_deps}")
      list(APPEND LATCHKEY_MODULES ${_name})
      set(LATCHKEY_DEPS_${_name} ${_deps})
    endif()
  endforeach()
endmacro()

# Makes src/<module>/ (and nothing else) the PUBLIC include root of latchkey_<module>.
function(latchkey_export_headers module)
  set(root ${PROJECT_BINARY_DIR}/module_include/${module})
  file(MAKE_DIRECTORY ${root})
  file(REMOVE ${root}/${module})
  file(CREATE_LINK ${LATCHKEY_MODULES_DIR}/${module} ${root}/${module} SYMBOLIC)
  target_include_directories(latchkey_${module} PUBLIC ${root})
endfunction()

# Fails the configure step when a module target links other modules than its row allows.
function(latchkey_check_layers)
  latchkey_read_layers()
  set(errors)
  file(GLOB module_dirs LIST_DIRECTORIES true ${LATCHKEY_MODULES_DIR}/*)
  foreach(dir IN LISTS module_dirs)
    get_filename_component(name ${dir} NAME)
    if(IS_DIRECTORY ${dir} AND NOT name IN_LIST LATCHKEY_MODULES)
      list(APPEND errors "src/${name}/ is not a module of cmake/layers.txt: give it a row")
    endif()
  endforeach()
  foreach(module IN LISTS LATCHKEY_MODULES)
    latchkey_module_target(${module} target)
    if(NOT TARGET ${target})
      list(APPEND errors "cmake/layers.txt names module ${module}, but there is no ${target}")
      continue()
    endif()
    get_target_property(libs ${target} LINK_LIBRARIES)
    set(linked)
    foreach(other IN LISTS LATCHKEY_MODULES)
      latchkey_module_target(${other} other_target)
      if(other_target IN_LIST libs)
        list(APPEND linked ${other})
      endif()
    endforeach()
    list(JOIN LATCHKEY_DEPS_${module} " " row)
    foreach(dep IN LISTS linked)
      if(NOT dep IN_LIST LATCHKEY_DEPS_${module})
        string(CONCAT error "${target} links latchkey_${dep}: ${module} -> ${dep} is not allowed "
                            "(cmake/layers.txt row \"${module}: ${row}\")")
        list(APPEND errors "${error}")
      endif()
    endforeach()
    foreach(dep IN LISTS LATCHKEY_DEPS_${module})
      if(NOT dep IN_LIST linked)
        string(CONCAT error "${target} does not link latchkey_${dep}, which its row in "
                            "cmake/layers.txt lists: link it explicitly, or drop it from the row")
        list(APPEND errors "${error}")
      endif()
    endforeach()
  endforeach()
  if(errors)
    list(JOIN errors "\n  " text)
    message(FATAL_ERROR "layering (cmake/layers.txt):\n  ${text}")
  endif()
endfunction()
