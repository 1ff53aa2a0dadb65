# `cmake --install build --prefix P` makes P a self-contained prefix: our libraries
# (libtapegrad_<module>), the public headers under include/tapegrad/, the oneDNN runtime we were
# built with (libdnnl and the two Intel compiler runtime libraries it needs) beside our
# libraries, the CMake package (find_package(tapegrad), targets tapegrad::<module> and
# tapegrad::tapegrad) and tapegrad.pc. Debian's TBB, fmt, zlib and nlohmann-json stay system
# dependencies that the package config finds.
include(CMakePackageConfigHelpers)
get_property(TAPEGRAD_MODULES GLOBAL PROPERTY TAPEGRAD_MODULES)
set(TAPEGRAD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tapegrad)

# One target for everything, as users of other libraries expect (tapegrad::tapegrad).
add_library(tapegrad INTERFACE)
target_link_libraries(tapegrad INTERFACE ${TAPEGRAD_MODULES})

# An executable that links an installed tapegrad gets an RPATH to the prefix's lib folder, so it
# finds libdnnl (and, when built shared, our libraries) with no LD_LIBRARY_PATH. Old-style RPATH
# (--disable-new-dtags) because libdnnl.so.3 has no run path of its own: only an RPATH of the
# program also serves libdnnl's own needs, libimf.so and libintlc.so.5.
foreach(module ${TAPEGRAD_MODULES})
  target_link_options(${module} INTERFACE
    "$<INSTALL_INTERFACE:-Wl,-rpath,$<INSTALL_PREFIX>/${CMAKE_INSTALL_LIBDIR}>"
    "$<INSTALL_INTERFACE:-Wl,--disable-new-dtags>")
endforeach()

install(TARGETS ${TAPEGRAD_MODULES} tapegrad EXPORT tapegradTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The public headers, as paths from the source root: every module's headers but the internal
# ones listed in cmake/internal_headers.txt (also read by scripts/docs.sh).
file(STRINGS ${PROJECT_SOURCE_DIR}/cmake/internal_headers.txt TAPEGRAD_INTERNAL_HEADERS REGEX "^[^#]")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/internal_headers.txt)
set(TAPEGRAD_PUBLIC_HEADERS)
foreach(module ${TAPEGRAD_MODULES})
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/${module}/*.h)
  foreach(header ${headers})
    set(public TRUE)
    foreach(internal ${TAPEGRAD_INTERNAL_HEADERS})
      string(STRIP "${internal}" internal)
      if(header STREQUAL internal OR header MATCHES "^${internal}/")
        set(public FALSE)
      endif()
    endforeach()
    if(public)
      list(APPEND TAPEGRAD_PUBLIC_HEADERS ${header})
      get_filename_component(folder ${header} DIRECTORY)
      install(FILES ${PROJECT_SOURCE_DIR}/${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tapegrad/${folder})
    endif()
  endforeach()
endforeach()

# tapegrad/version.h: the version of project() as a string and as numbers.
configure_file(${PROJECT_SOURCE_DIR}/cmake/version.h.in ${TAPEGRAD_INCLUDE_ROOT}/tapegrad/version.h @ONLY)
install(FILES ${TAPEGRAD_INCLUDE_ROOT}/tapegrad/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tapegrad)

# The oneDNN runtime we were built with: libdnnl.so.3.2 with its links libdnnl.so.3 (its soname)
# and libdnnl.so (for -ldnnl), and the compiler runtime that Intel's build of it needs.
get_filename_component(_dnnl_name "${_dnnl_lib}" NAME)
set(_dnnl_runtime "${_dnnl_lib}")
foreach(name libdnnl.so.3 libdnnl.so libimf.so libintlc.so.5)
  if(EXISTS "${TAPEGRAD_DNNL_LIBDIR}/${name}" AND NOT name STREQUAL _dnnl_name)
    list(APPEND _dnnl_runtime "${TAPEGRAD_DNNL_LIBDIR}/${name}")
  endif()
endforeach()
install(FILES ${_dnnl_runtime} DESTINATION ${CMAKE_INSTALL_LIBDIR})

# The CMake package.
install(EXPORT tapegradTargets NAMESPACE tapegrad:: DESTINATION ${TAPEGRAD_CMAKE_DIR})
configure_package_config_file(cmake/tapegradConfig.cmake.in ${PROJECT_BINARY_DIR}/tapegradConfig.cmake
                              INSTALL_DESTINATION ${TAPEGRAD_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tapegradConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tapegradConfig.cmake ${PROJECT_BINARY_DIR}/tapegradConfigVersion.cmake
        DESTINATION ${TAPEGRAD_CMAKE_DIR})

# pkg-config: the modules in link order (each before the ones it uses), then oneDNN.
set(_pc_libs)
foreach(module ${TAPEGRAD_MODULES})
  get_target_property(type ${module} TYPE)
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    list(PREPEND _pc_libs "-ltapegrad_${module}")
  endif()
endforeach()
list(JOIN _pc_libs " " TAPEGRAD_PC_LIBS)
# The prefix is found from the .pc file's own place, so that `cmake --install --prefix` anywhere
# gives a correct file.
file(RELATIVE_PATH TAPEGRAD_PC_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)  # any prefix: only the relative path counts
string(REGEX REPLACE "/$" "" TAPEGRAD_PC_PREFIX "${TAPEGRAD_PC_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/tapegrad.pc.in ${PROJECT_BINARY_DIR}/tapegrad.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tapegrad.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
