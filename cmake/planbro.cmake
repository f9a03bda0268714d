# planbro_add_library(NAME DIR [DEPS ...]): a static library from every .cc under DIR, with the public headers of
# its top-level library folder. One library per concern, so a broken area does not stop the others from building.
function(planbro_add_library name dir include_dir)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${dir}/*.cc ${dir}/*.S)
  if(NOT sources)  # an area not written yet: headers only
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${include_dir})
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(${name} STATIC ${sources})
  target_include_directories(${name} PUBLIC ${include_dir} PRIVATE ${dir})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# planbro_add_test(NAME DIR [DEPS ...]): one GoogleTest executable from every .cc under DIR, registered with CTest.
function(planbro_add_test name dir)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${dir}/*.cc)
  if(NOT sources)
    return()
  endif()
  add_executable(${name} ${sources})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    PLANBRO_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared"
    PLANBRO_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()
