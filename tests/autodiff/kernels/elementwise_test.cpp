#include "tapegrad/autodiff/kernels/elementwise.h"

#include <doctest/doctest.h>

#include "../test_util.h"

using ad::Tensor;

TEST_CASE("map, map2 and map3 apply their function to every element, in parallel above the threshold") {
  for (int64_t n : {int64_t{0}, int64_t{7}, 3 * ad::kParallelThreshold + 5}) {
    INFO("n = " << n);
    Tensor a = test::random({n}, -1, 1, 1), b = test::random({n}, -1, 1, 2), c = test::random({n}, -1, 1, 3);
    Tensor one = ad::kernels::map(a, [](float x) { return 2 * x; });
    Tensor two = ad::kernels::map2(a, b, [](float x, float y) { return x - y; });
    Tensor three = ad::kernels::map3(a, b, c, [](float x, float y, float z) { return x * y + z; });
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; ++i)
      wrong += one[i] != 2 * a[i] || two[i] != a[i] - b[i] || three[i] != a[i] * b[i] + c[i];
    CHECK(wrong == 0);
    CHECK(three.shape() == a.shape());
  }
}
