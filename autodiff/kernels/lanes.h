// Kernels written once over a GCC/Clang vector type (__m128, __m256 or __m512) and compiled once
// per instruction set: each of lanes_sse.cpp, lanes_avx2.cpp and lanes_avx512.cpp defines a
// Lanes struct for its width (libmvec's functions, the reciprocal-square-root estimate, a test
// that every lane of a mask is set) and instantiates the generic kernels of vector_math_lanes.h
// and update_lanes.h with it, built for its own instruction set (autodiff/CMakeLists.txt). The
// callers pick the widest one the processor runs, once (lanes_width_count).
//
// The generic code sits in unnamed namespaces on purpose: each file compiles its own copy for
// its instruction set, and no copy may be shared with a file built for another one (the linker
// would keep one of them for all).
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 35)
#define TAPEGRAD_LIBMVEC  // glibc's libmvec has tanhf, expf, log1pf and expm1f in 4, 8 and 16 lanes
#endif
#endif

namespace ad::kernels::detail {

/// How many of the widths (SSE 4 lanes, AVX2 8, AVX-512 16) this processor runs, in that order:
/// the tables' last usable entry is the widest. 0 without TAPEGRAD_LIBMVEC (the kernels then
/// run their scalar loops).
int lanes_width_count();

#ifdef TAPEGRAD_LIBMVEC
namespace {

template <class V>
using LaneMask = decltype(V{} < V{});  // all-ones lanes where a comparison holds

template <class V>
inline V select_lanes(LaneMask<V> mask, V yes, V no) {
  return (V)((mask & (LaneMask<V>)yes) | (~mask & (LaneMask<V>)no));
}

template <class V>
inline V negative_abs(V v) {  // -|v| by setting the sign bit (-V{} is -0 in every lane); NaN stays NaN
  return (V)((LaneMask<V>)v | (LaneMask<V>)(-V{}));
}

template <class V>
inline V max_zero(V v) {  // max(v, 0) with 0 for NaN (as maxps): the NaN then comes through a second term
  return select_lanes(v > V{}, v, V{});
}

template <class V>
inline V splat(float x) {
  return V{} + x;
}

// Whether d is a normal positive float below infinity, lane by lane (false for 0, subnormals,
// infinity and NaN).
template <class V>
inline LaneMask<V> positive_normal(V d) {
  return (d >= splat<V>(__FLT_MIN__)) & (d < splat<V>(__builtin_huge_valf()));
}

// 1/sqrt(d) from the processor's estimate (12 or 14 bits) and one Newton step,
// r(3 - d r²)/2, which squares the estimate's relative error. The step is written
// r(1.5 - (0.5 d r) r) so that no intermediate leaves the normal range (d r ≈ sqrt(d), and
// (0.5 d r) r ≈ 0.5): as 0.5 d · r² the product underflows (to 0 under flush-to-zero) for d
// near either end of the range, and the result came out 1.5 times too large. A subnormal d
// (kept when flush-to-zero is off) is scaled by 2^48 first and the result by 2^24, a negative
// one too (its estimate is then NaN, as the exact root's, where some processors' estimate of the
// unscaled value is -inf). Where d is
// 0, infinite or NaN the estimate itself (inf, 0, NaN) is the exact answer, and the Newton step
// would make it NaN.
template <class Lanes, class V = typename Lanes::V>
inline V reciprocal_sqrt(V d) {
  V r = Lanes::rsqrt_estimate(d);
  V refined = r * (splat<V>(1.5f) - (splat<V>(0.5f) * (d * r)) * r);
  LaneMask<V> normal = positive_normal(d);
  if (Lanes::all_set((V)normal)) return refined;  // nearly always: the rest costs as much again
  V magnitude = -negative_abs(d);
  LaneMask<V> subnormal = (magnitude > V{}) & (magnitude < splat<V>(__FLT_MIN__));  // either sign
  V scaled = select_lanes(subnormal, d * 0x1p48f, d);
  r = Lanes::rsqrt_estimate(scaled);
  refined = r * (splat<V>(1.5f) - (splat<V>(0.5f) * (scaled * r)) * r);
  V result = select_lanes(positive_normal(scaled), refined, r);
  return select_lanes(subnormal, result * 0x1p24f, result);
}

}  // namespace
#endif

}  // namespace ad::kernels::detail
