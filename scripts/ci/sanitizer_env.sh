# The configuration and run-time options of the ASan + UBSan build (sourced by asan.sh and fuzz.sh).
ASAN_CMAKE_OPTIONS=(-DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo
                    -DTAPEGRAD_SANITIZE=address,undefined -DTAPEGRAD_FUZZ=ON)
# Leaks count as faults too (detect_leaks); the suppressions file names what the prebuilt,
# uninstrumented libraries keep until exit on purpose.
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$ROOT/scripts/ci/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
