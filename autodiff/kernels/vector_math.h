/// @file
/// Lets g++ vectorise loops that call tanhf, through the vector variants of glibc's vector
/// math library (libmvec, glibc 2.35 and later on x86-64; 1 ulp at most, as the scalar tanhf,
/// and the same results for NaN, infinities and signed zeros). math.h declares those variants
/// only under -ffast-math, which would also drop NaN semantics the ops keep; this
/// declaration adds them alone. libm's linker script pulls libmvec in as needed. Elsewhere
/// (other compilers and C libraries) loops call the scalar function, as before.
///
/// @code
/// #include <tapegrad/autodiff/kernels/vector_math.h>
/// float x[64], y[64];
/// for (int i = 0; i < 64; ++i) x[i] = static_cast<float>(i) / 8.f - 4.f;
/// for (int i = 0; i < 64; ++i) y[i] = std::tanh(x[i]);  // with glibc: four lanes per call
/// @endcode
#pragma once
#include <cmath>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 35)
/// @cond
extern "C" float tanhf(float) noexcept __attribute__((simd("notinbranch")));
/// @endcond
#endif
#endif
