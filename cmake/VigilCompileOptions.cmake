# Warnings, sanitizers and hardening shared by every Vigil target.
add_library(vigil_options INTERFACE)
target_compile_options(vigil_options INTERFACE -Wall -Wextra -Wno-unused-parameter)
target_include_directories(vigil_options INTERFACE ${CMAKE_SOURCE_DIR}/src)

if(CMAKE_BUILD_TYPE STREQUAL "Release")
  target_compile_options(vigil_options INTERFACE -D_FORTIFY_SOURCE=2 -fstack-protector-strong)
  target_link_options(vigil_options INTERFACE -Wl,-z,relro,-z,now)
endif()

if(VIGIL_SANITIZE)
  list(JOIN VIGIL_SANITIZE "," _vigil_sanitizers)
  add_compile_options(-fsanitize=${_vigil_sanitizers} -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=${_vigil_sanitizers})
endif()

if(VIGIL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "VIGIL_FUZZ needs clang; use the debug preset")
  endif()
  # Coverage instrumentation for everything, so the fuzz targets see inside the libraries.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Adds a GoogleTest executable whose tests CTest lists one by one.
function(vigil_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} vigil_options GTest::gtest GTest::gmock
                        GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE VIGIL_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
                       PROPERTIES ENVIRONMENT "VIGIL_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
