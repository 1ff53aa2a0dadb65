#include "tapegrad/interop/onnx.h"

#include <doctest/doctest.h>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <fstream>
#include <sstream>

#include "tapegrad/nn/layers/all.h"
#include "tests/nn/scratch_folder.h"

namespace {

onnx::ModelProto read_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  onnx::ModelProto model;
  REQUIRE(model.ParseFromString(bytes.str()));
  return model;
}

std::vector<std::string> operators(const onnx::ModelProto& model) {
  std::vector<std::string> ops;
  for (const auto& node : model.graph().node()) ops.push_back(node.op_type());
  return ops;
}

}  // namespace

TEST_CASE("save_onnx writes a checked opset-17 graph with a symbolic batch dimension") {
  tests::ScratchFolder folder;
  nn::Sequential model({nn::Flatten({2, 3}), nn::Dense(5, "relu"), nn::Dense(4, {.activation = "tanh", .use_bias = false}),
                        nn::Dense(3, "softmax")});
  model.build({2, 3}, 1);
  interop::save_onnx(model, folder.file("m.onnx"));
  onnx::ModelProto onnx = read_model(folder.file("m.onnx"));
  CHECK_NOTHROW(onnx::checker::check_model(onnx));
  REQUIRE(onnx.opset_import_size() == 1);
  CHECK(onnx.opset_import(0).version() == interop::kOnnxOpset);
  CHECK(operators(onnx) == std::vector<std::string>{"Flatten", "Gemm", "Relu", "MatMul", "Tanh", "Gemm", "Softmax",
                                                    "Identity"});
  const auto& input = onnx.graph().input(0);
  CHECK(input.name() == "input");
  const auto& dims = input.type().tensor_type().shape().dim();
  REQUIRE(dims.size() == 3);
  CHECK(dims[0].dim_param() == "batch");
  CHECK(dims[1].dim_value() == 2);
  CHECK(onnx.graph().output(0).name() == "output");
  // The kernel initializer holds the layer's weights in Keras' [in, units] layout.
  const auto& kernel = onnx.graph().initializer(0);
  CHECK(kernel.dims_size() == 2);
  CHECK(kernel.dims(0) == 6);
  CHECK(kernel.dims(1) == 5);
  float first;
  std::memcpy(&first, kernel.raw_data().data(), sizeof first);
  CHECK(first == dynamic_cast<nn::Dense&>(model.layer(1)).kernel().value()[0]);
}

TEST_CASE("save_onnx refuses an unbuilt model") {
  tests::ScratchFolder folder;
  nn::Sequential model({nn::Dense(3)});
  CHECK_THROWS_WITH_AS(interop::save_onnx(model, folder.file("m.onnx")), doctest::Contains("not built"), ad::Error);
  CHECK(folder.entries().empty());
}
