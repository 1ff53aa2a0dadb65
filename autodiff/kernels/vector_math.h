/// @file
/// Lets g++ vectorise loops that call tanhf, through the vector variants of glibc's vector
/// math library (libmvec, glibc 2.35 and later on x86-64; 1 ulp at most, as the scalar tanhf,
/// and the same results for NaN, infinities and signed zeros). math.h declares those variants
/// only under -ffast-math, which would also drop NaN semantics the ops keep; this
/// declaration adds them alone. libm's linker script pulls libmvec in as needed. Elsewhere
/// (other compilers and C libraries) loops call the scalar function, as before.
#pragma once
#include <cmath>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 35)
/// @cond
extern "C" float tanhf(float) noexcept __attribute__((simd("notinbranch")));
/// @endcond
#endif
#endif
