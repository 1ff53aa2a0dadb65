/// @file
/// The oneDNN engine and this thread's stream. oneDNN runs on its TBB runtime, so its parallel
/// loops share TBB's arena (and the thread limit of ad::set_num_threads) with ours.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <string>

namespace ad::kernels {

const dnnl::engine& engine();
/// CPU streams execute synchronously; one per thread keeps concurrent nodes independent.
dnnl::stream& stream();

}  // namespace ad::kernels
