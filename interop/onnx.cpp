#include "tapegrad/interop/onnx.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "tapegrad/nn/activations.h"
#include "tapegrad/nn/atomic_file.h"
#include "tapegrad/nn/layers/dense.h"

namespace interop {

namespace {

namespace proto = ONNX_NAMESPACE;

// tapegrad activation -> ONNX operator computing the same function ("" for the identity).
const std::map<std::string, std::string>& activation_operators() {
  static const std::map<std::string, std::string> table = {{"linear", ""},       {"relu", "Relu"},
                                                           {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"},
                                                           {"softplus", "Softplus"}, {"softmax", "Softmax"}};
  return table;
}

class GraphBuilder {
 public:
  explicit GraphBuilder(proto::GraphProto& graph) : graph_(graph) {}

  // Adds a node reading `inputs`; returns the name of its output.
  std::string node(const std::string& op, const std::vector<std::string>& inputs, const std::string& layer) {
    proto::NodeProto* n = graph_.add_node();
    n->set_op_type(op);
    n->set_name(fmt::format("{}/{}", layer, op));
    for (const std::string& input : inputs) n->add_input(input);
    std::string output = fmt::format("{}/{}:0", layer, op);
    n->add_output(output);
    last_ = n;
    return output;
  }
  void int_attribute(const char* name, int64_t value) {
    proto::AttributeProto* a = last_->add_attribute();
    a->set_name(name);
    a->set_type(proto::AttributeProto::INT);
    a->set_i(value);
  }
  // A float32 initializer holding `values`.
  std::string initializer(const std::string& name, const ad::Tensor& values) {
    proto::TensorProto* t = graph_.add_initializer();
    t->set_name(name);
    t->set_data_type(proto::TensorProto::FLOAT);
    for (int64_t d : values.shape()) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()),
                                static_cast<size_t>(values.size()) * sizeof(float)));
    return name;
  }

 private:
  proto::GraphProto& graph_;
  proto::NodeProto* last_ = nullptr;
};

void describe_value(proto::ValueInfoProto* value, const std::string& name, const nn::Shape& sample) {
  value->set_name(name);
  proto::TypeProto::Tensor* tensor = value->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(proto::TensorProto::FLOAT);
  proto::TensorShapeProto* shape = tensor->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  for (int64_t d : sample) shape->add_dim()->set_dim_value(d);
}

std::string add_activation(GraphBuilder& graph, const std::string& x, const nn::Layer& layer) {
  std::string name = nn::canonical_activation(layer.output_activation());
  auto it = activation_operators().find(name);
  if (it == activation_operators().end()) {
    std::vector<std::string> known;
    for (const auto& [k, op] : activation_operators()) known.push_back(k);
    ad::fail("save_onnx: {} '{}' has activation '{}', which has no ONNX mapping; mapped: {}", layer.type(),
             layer.name(), name, fmt::join(known, ", "));
  }
  if (it->second.empty()) return x;
  std::string y = graph.node(it->second, {x}, layer.name());
  if (it->second == "Softmax") graph.int_attribute("axis", -1);
  return y;
}

}  // namespace

void save_onnx(const nn::Sequential& model, const std::string& path) {
  TG_CHECK(model.built(), "save_onnx: the model is not built; build() or fit() it first");
  proto::ModelProto onnx;
  onnx.set_ir_version(proto::IR_VERSION);
  onnx.set_producer_name("tapegrad");
  proto::OperatorSetIdProto* opset = onnx.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  proto::GraphProto& graph = *onnx.mutable_graph();
  graph.set_name(model.get_config().value("name", "sequential"));
  describe_value(graph.add_input(), "input", model.input_shape());

  GraphBuilder builder(graph);
  std::string x = "input";
  for (const nn::LayerPtr& layer : model.layers()) {
    const std::string type = layer->type();
    if (type == "InputLayer") continue;
    if (type == "Flatten") {
      x = builder.node("Flatten", {x}, layer->name());
      builder.int_attribute("axis", 1);
    } else if (type == "Dense") {
      auto& dense = dynamic_cast<nn::Dense&>(*layer);
      std::string kernel = builder.initializer(layer->name() + "/kernel", dense.kernel().value());
      x = dense.use_bias()
              ? builder.node("Gemm", {x, kernel, builder.initializer(layer->name() + "/bias", dense.bias().value())},
                             layer->name())
              : builder.node("MatMul", {x, kernel}, layer->name());
      x = add_activation(builder, x, *layer);
    } else if (type == "Activation") {
      x = add_activation(builder, x, *layer);
    } else {
      ad::fail("save_onnx: layer '{}' is a {}; ONNX export knows InputLayer, Flatten, Dense, Activation",
               layer->name(), type);
    }
  }
  // The graph's output keeps its fixed name even when the last layer added no node.
  builder.node("Identity", {x}, "output");
  graph.mutable_node(graph.node_size() - 1)->set_output(0, "output");
  describe_value(graph.add_output(), "output", model.output_shape());

  try {
    proto::checker::check_model(onnx);
  } catch (const std::exception& e) {
    ad::fail("save_onnx: the ONNX checker refuses the exported model: {}", e.what());
  }
  std::string bytes;
  TG_CHECK(onnx.SerializeToString(&bytes), "save_onnx: '{}': cannot serialize the model", path);
  nn::write_file_atomically(path, bytes, "save_onnx");
}

}  // namespace interop
