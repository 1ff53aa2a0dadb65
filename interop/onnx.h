/// @file
/// ONNX export: a trained Sequential as an ONNX model (opset 17, IR version 8), for ONNX
/// Runtime and other ONNX tools, built with the ONNX library's protobuf classes and checked
/// with its model checker before it is written.
///
/// @code
/// // Given: const nn::Sequential& model
/// interop::save_onnx(model, "model.onnx");
/// // Python: onnxruntime.InferenceSession("model.onnx").run(None, {"input": x})
/// @endcode
///
/// The graph has one float input "input" of shape [batch, <the model's per-sample input>] with
/// a symbolic batch dimension, and one output "output" [batch, ...]. Layers become operators:
/// Flatten -> Flatten(axis=1), Dense -> Gemm (MatMul without a bias) with the kernel and bias as
/// initializers, activations -> Relu, Sigmoid, Tanh, Softplus, Softmax(axis=-1), and linear ->
/// nothing; InputLayer adds no node.
#pragma once
#include <string>

#include "tapegrad/nn/sequential.h"

namespace interop {

/// The operator set version of the default ONNX domain that exported models use.
constexpr int kOnnxOpset = 17;

/// Writes the built `model` as an ONNX file atomically (nn/atomic_file.h). Throws naming the
/// layer for a layer type or activation without an ONNX mapping, when the model is not built,
/// and with the checker's message when the ONNX checker refuses the model.
void save_onnx(const nn::Sequential& model, const std::string& path);

}  // namespace interop
