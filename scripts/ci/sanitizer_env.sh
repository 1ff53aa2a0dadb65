# The configuration and run-time options of the ASan + UBSan build (sourced by asan.sh and fuzz.sh).
# TAPEGRAD_ALLOCATION_TEST=OFF: tests/graph/allocations.cpp replaces operator new without its
# aligned and nothrow forms, which ASan reports as alloc-dealloc-mismatch in every graph test;
# set it ON (or drop it) once that file replaces every form.
ASAN_CMAKE_OPTIONS=(-DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo
                    -DTAPEGRAD_SANITIZE=address,undefined -DTAPEGRAD_FUZZ=ON -DTAPEGRAD_ALLOCATION_TEST=OFF)
# Leaks count as faults too (detect_leaks); the suppressions file names what the prebuilt,
# uninstrumented libraries keep until exit on purpose.
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$ROOT/scripts/ci/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
