# Precompiled headers for the whole tree (option SPIRECVM_PCH, on by default).
#
# Two precompiled headers are built once per build directory: cmake/pch/third_party.h for libraries and binaries,
# cmake/pch/third_party_test.h (the same plus GoogleTest/GoogleMock) for the test executables. Every other C++
# target reuses one of them (REUSE_FROM): on the ASan build the front end of a file went from ~8 s to ~4 s, a
# test file's whole compile by a fifth to a third (single measurements on a shared machine; docs/architecture.md).
#
# GCC uses a precompiled header only when the macros it depends on are defined as when it was built (it warns
# with -Winvalid-pch, an error under -Werror): that is why -pthread and spdlog's and fmt's definitions are set for
# every target in the top-level CMakeLists.txt, and why the generated protobuf code, compiled with other flags
# (cvm_generated_code_flags), is left out.

function(cvm_pch_owner name header)
  add_library(${name} OBJECT ${CMAKE_SOURCE_DIR}/cmake/pch/anchor.cc)
  target_link_libraries(${name} PRIVATE ${ARGN})
  target_precompile_headers(${name} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:${CMAKE_SOURCE_DIR}/cmake/pch/${header}>")
endfunction()

# Every target defined in `dir` and below.
function(cvm_collect_targets dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub ${subdirs})
    cvm_collect_targets(${sub} sub_targets)
    list(APPEND targets ${sub_targets})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

function(cvm_apply_pch)
  set(common gRPC::grpc++ protobuf::libprotobuf absl::status absl::statusor absl::strings absl::time
      nlohmann_json::nlohmann_json OpenSSL::SSL OpenSSL::Crypto spdlog::spdlog)
  cvm_pch_owner(cvm_pch third_party.h ${common})
  cvm_pch_owner(cvm_pch_test third_party_test.h ${common} GTest::gtest GTest::gmock)
  cvm_collect_targets(${CMAKE_SOURCE_DIR} targets)
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(NOT type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|SHARED_LIBRARY|OBJECT_LIBRARY)$" OR t MATCHES "^cvm_pch")
      continue()
    endif()
    get_target_property(options ${t} COMPILE_OPTIONS)
    if("-w" IN_LIST options)  # generated code: other flags (cvm_generated_code_flags)
      continue()
    endif()
    get_target_property(libs ${t} LINK_LIBRARIES)
    if("GTest::gtest" IN_LIST libs OR "GTest::gmock" IN_LIST libs OR "GTest::gtest_main" IN_LIST libs)
      target_precompile_headers(${t} REUSE_FROM cvm_pch_test)
    else()
      target_precompile_headers(${t} REUSE_FROM cvm_pch)
    endif()
  endforeach()
endfunction()
