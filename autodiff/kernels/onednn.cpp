#include "tapegrad/autodiff/kernels/onednn.h"

#include "tapegrad/autodiff/kernels/matmul.h"

namespace ad::kernels {

const dnnl::engine& engine() {
  static const dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

std::string cpu_isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "SSE4.1";
    case dnnl::cpu_isa::avx: return "AVX";
    case dnnl::cpu_isa::avx2: return "AVX2";
    case dnnl::cpu_isa::avx2_vnni: return "AVX2 with VNNI";
    case dnnl::cpu_isa::avx2_vnni_2: return "AVX2 with VNNI-2";
    case dnnl::cpu_isa::avx512_core: return "AVX-512";
    case dnnl::cpu_isa::avx512_core_vnni: return "AVX-512 with VNNI";
    case dnnl::cpu_isa::avx512_core_bf16: return "AVX-512 with bf16";
    case dnnl::cpu_isa::avx512_core_fp16: return "AVX-512 with fp16";
    case dnnl::cpu_isa::avx512_core_amx: return "AVX-512 with AMX";
    case dnnl::cpu_isa::avx512_core_amx_fp16: return "AVX-512 with AMX-fp16";
    default: return "generic x86-64";
  }
}

}  // namespace ad::kernels
