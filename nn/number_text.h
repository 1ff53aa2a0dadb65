/// @file
/// Numbers in progress lines, callback messages and CSV rows, written as Keras (Python) writes
/// them: a NaN is "nan" whatever its sign bit (printf and fmt write "-nan" for some), infinities
/// are "inf" and "-inf".
///
/// @code
/// #include <cmath>
/// nn::fixed_text(0.25, 5);        // "0.25000", Python's f"{0.25:.5f}"
/// nn::fixed_text(NAN, 4);         // "nan"
/// nn::shortest_text(0.1);         // "0.1": the shortest text that reads back as the same double
/// nn::shortest_text(1);           // "1.0", as Python's repr writes a float
/// @endcode
#pragma once
#include <string>

namespace nn {

std::string fixed_text(double value, int decimals);       ///< Python's "{:.Nf}"
std::string scientific_text(double value, int decimals);  ///< Python's "{:.Ne}"
/// The shortest decimal text that reads back as the same double (Python's repr).
std::string shortest_text(double value);
/// Keras' progress bar figure: 4 decimals, or 4 significant digits in scientific form when
/// the magnitude is at most 1e-3 (keras.utils.Progbar).
std::string progress_text(double value);

}  // namespace nn
