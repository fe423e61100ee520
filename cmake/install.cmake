# cmake/install.cmake — `cmake --install` rules: the nnc compiler, the public headers, the
# runtime library libnnrt.a, a pkg-config file (nnrt.pc) and a CMake package (nncConfig.cmake)
# with the imported target nnc::nnrt, the imported executable nnc::nnc and nnc_add_model().
#
# Installed layout (PREFIX is CMAKE_INSTALL_PREFIX or `cmake --install --prefix`):
#   PREFIX/bin/nnc
#   PREFIX/include/nnc/model.h, nnrt.h
#   PREFIX/lib/libnnrt.a                   always `lib`: nnc looks for it at bin/../lib
#   PREFIX/lib/pkgconfig/nnrt.pc
#   PREFIX/lib/cmake/nnc/nncConfig.cmake, nncConfigVersion.cmake
# Every installed file finds the others relative to itself, so the tree can be installed
# under any prefix and moved afterwards.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The runtime goes to `lib` even where GNUInstallDirs would say lib/<multiarch> (a /usr
# prefix on Debian): compiler/emit.c (find_runtime) looks for libnnrt.a at bin/../lib.
set(NNC_INSTALL_RUNTIME_DIR lib)
set(NNC_INSTALL_CMAKE_DIR ${NNC_INSTALL_RUNTIME_DIR}/cmake/nnc)
set(NNC_INSTALL_PKGCONFIG_DIR ${NNC_INSTALL_RUNTIME_DIR}/pkgconfig)

install(TARGETS nnc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS nnrt ARCHIVE DESTINATION ${NNC_INSTALL_RUNTIME_DIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/nnc DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

# pkg-config: `cc app.c model.o $(pkg-config --cflags --libs nnrt)`.
set(NNC_PC_LIBDIR ${NNC_INSTALL_RUNTIME_DIR})
set(NNC_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
configure_file(${CMAKE_CURRENT_LIST_DIR}/nnrt.pc.in ${PROJECT_BINARY_DIR}/nnrt.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/nnrt.pc DESTINATION ${NNC_INSTALL_PKGCONFIG_DIR})

# CMake: find_package(nnc) gives nnc::nnrt, nnc::nnc, NNC_EXECUTABLE and nnc_add_model().
set(NNC_BINDIR ${CMAKE_INSTALL_BINDIR})
set(NNC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/nncConfig.cmake.in
  ${PROJECT_BINARY_DIR}/nncConfig.cmake
  INSTALL_DESTINATION ${NNC_INSTALL_CMAKE_DIR}
  PATH_VARS NNC_BINDIR NNC_INCLUDEDIR NNC_INSTALL_RUNTIME_DIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nncConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/nncConfig.cmake ${PROJECT_BINARY_DIR}/nncConfigVersion.cmake
        DESTINATION ${NNC_INSTALL_CMAKE_DIR})

# The installed nnc keeps the run path to libLLVM (not on the loader's default path on Debian).
# Equal build and install run paths also spare CMake its in-place RPATH_CHANGE, which fails
# here because the linker drops the padding ':' CMake appends to the build run path.
set_target_properties(nnc PROPERTIES INSTALL_RPATH "${LLVM_LIBRARY_DIR}")
