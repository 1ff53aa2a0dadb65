/// @file
/// The one exception type of the project, and the checks that throw it.
///
/// @code
/// #include <tapegrad/autodiff/tensor.h>
/// // Given: const ad::Tensor& a, const ad::Tensor& b
/// TG_CHECK(a.cols() == b.rows(), "matmul: inner dimensions differ: {} x {}", a.shape(), b.shape());
/// @endcode
///
/// Every message names the function, the rule broken and the values involved.
#pragma once
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>

namespace ad {

/// The project's one exception type, for bad input and broken invariants alike; its what()
/// names the function, the rule broken and the values.
class Error : public std::invalid_argument {
 public:
  /// An error with `message` as what().
  explicit Error(const std::string& message) : std::invalid_argument(message) {}
};

template <typename... Args>
/// Throws ad::Error with a message formatted by fmt (`{}` placeholders), checked at compile time.
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace ad

/// Throws ad::Error with the formatted message when the condition is false. Used both on user
/// input and for internal invariants: nothing in the library aborts.
#define TG_CHECK(condition, ...)          \
  do {                                    \
    if (!(condition)) ::ad::fail(__VA_ARGS__); \
  } while (0)
