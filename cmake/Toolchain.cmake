# ccache and mold when present (design.md §1): keeps a full CI build well inside its budget.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
endif()

find_program(MOLD_PROGRAM mold)
if(MOLD_PROGRAM)
  add_link_options("-fuse-ld=mold")
endif()

# -std=c++2b on g++ 12 (CMAKE_CXX_STANDARD 23 maps to it).
# No -Wnull-dereference: with g++ 12 at -O2 it fires inside libstdc++ and Asio headers (false
# positives that depend on inlining), which would make -Werror builds flaky per optimisation level.
add_library(latchkey_warnings INTERFACE)
target_compile_options(latchkey_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
if(LATCHKEY_WERROR)
  target_compile_options(latchkey_warnings INTERFACE -Werror)
endif()

if(LATCHKEY_ASAN)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# Every Boost.Asio user gets the same settings so the few Beast/Asio TUs stay ABI-compatible.
add_compile_definitions(BOOST_ASIO_NO_DEPRECATED
  BOOST_ASIO_DISABLE_CONCEPTS)
