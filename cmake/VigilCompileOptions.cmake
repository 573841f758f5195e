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

# Adds a libFuzzer target (debug preset only) and a CTest case `fuzz.<name>` that runs it for
# VIGIL_FUZZ_SECONDS on the seed corpus folder CORPUS (copied, so the source tree stays clean).
set(VIGIL_FUZZ_SECONDS 15 CACHE STRING "Seconds each fuzz target runs in the test suite")
function(vigil_add_fuzzer name)
  cmake_parse_arguments(ARG "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  if(NOT VIGIL_FUZZ)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} vigil_options)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set(_work ${CMAKE_CURRENT_BINARY_DIR}/${name}.corpus)
  set(_seed "")
  if(ARG_CORPUS)
    set(_seed ${ARG_CORPUS})
  endif()
  add_test(NAME fuzz.${name}
           COMMAND ${CMAKE_SOURCE_DIR}/scripts/run-fuzzer $<TARGET_FILE:${name}> ${_work}
                   ${VIGIL_FUZZ_SECONDS} ${_seed})
  set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 600)
endfunction()

# Adds a Google Benchmark executable, built by default, and a CTest smoke run `bench.<name>`
# that runs each benchmark once so the benchmarks cannot rot.
function(vigil_add_benchmark name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} vigil_options benchmark::benchmark)
  target_compile_definitions(${name} PRIVATE VIGIL_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  add_test(NAME bench.${name} COMMAND ${name} --benchmark_min_time=0.01)
  set_tests_properties(bench.${name} PROPERTIES LABELS bench)
endfunction()
