"""The Python half of scripts/interop_check.sh: Keras, ONNX Runtime and safetensors read what
tapegrad writes, and tapegrad reads what Keras writes, with the same predictions.

  interop_check.py check-exports DIR   every DIR/<name>.keras and .onnx predicts DIR/<name>.safetensors' "y"
  interop_check.py make-keras DIR      Keras builds, trains and saves DIR/keras_<name>.keras with its
                                       inputs and predictions in DIR/keras_<name>.safetensors
  interop_check.py check-imports DIR   tapegrad's predictions DIR/keras_<name>.out.safetensors match
"""
import os
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

TOLERANCE = 1e-5
failures = []


def compare(what, expected, got):
    got = np.asarray(got, dtype=np.float32)
    if expected.shape != got.shape:
        failures.append(f"{what}: shape {got.shape}, expected {expected.shape}")
        print(f"FAIL {what}: shape {got.shape}, expected {expected.shape}")
        return
    diff = float(np.max(np.abs(expected - got)))
    ok = diff <= TOLERANCE
    print(f"{'ok  ' if ok else 'FAIL'} {what}: max |difference| {diff:.2e} over {expected.size} values")
    if not ok:
        failures.append(f"{what}: max difference {diff:.2e} > {TOLERANCE}")


def check_exports(folder):
    import keras
    import onnxruntime

    for data_path in sorted(folder.glob("*.safetensors")):
        if data_path.name.startswith("keras_"):
            continue
        data = load_file(str(data_path))  # written by nn::save_safetensors
        x, y = data["x"], data["y"]
        model = keras.models.load_model(str(data_path.with_suffix(".keras")))
        compare(f"Keras loads {data_path.stem}.keras", y, model.predict(x, verbose=0))
        session = onnxruntime.InferenceSession(str(data_path.with_suffix(".onnx")),
                                               providers=["CPUExecutionProvider"])
        compare(f"ONNX Runtime runs {data_path.stem}.onnx", y, session.run(["output"], {"input": x})[0])
        # A batch of another size: the batch dimension is symbolic.
        compare(f"ONNX Runtime runs {data_path.stem}.onnx on 3 rows", y[:3],
                session.run(["output"], {"input": x[:3]})[0])


def make_keras(folder):
    import keras
    from keras import layers

    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    models = {
        # Dropout, an Activation layer and an explicit InputLayer, as the issue asks.
        "classifier": keras.Sequential([
            layers.InputLayer(shape=(4, 3)), layers.Flatten(), layers.Dense(10, activation="relu"),
            layers.Dropout(0.3), layers.Dense(3), layers.Activation("softmax")]),
        "regression": keras.Sequential([
            layers.InputLayer(shape=(6,)), layers.Dense(8, activation="tanh"),
            layers.Dense(8, activation="sigmoid", use_bias=False), layers.Dropout(0.1),
            layers.Dense(4, activation="softplus"), layers.Dense(2)]),
    }
    for name, model in models.items():
        x = rng.uniform(-1, 1, size=(64,) + model.input_shape[1:]).astype(np.float32)
        if name == "classifier":
            y = (x.reshape(64, -1)[:, :3].argmax(axis=1)).astype(np.int32)
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        else:
            y = np.stack([x[:, 0] * x[:, 1], x[:, 2] - x[:, 3]], axis=1).astype(np.float32)
            model.compile(loss="mse", optimizer="adam")
        model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        model.save(str(folder / f"keras_{name}.keras"))
        save_file({"x": x, "y": model.predict(x, verbose=0).astype(np.float32)},
                  str(folder / f"keras_{name}.safetensors"))
        print(f"Keras saved keras_{name}.keras")


def check_imports(folder):
    for data_path in sorted(folder.glob("keras_*.out.safetensors")):
        stem = data_path.name.removesuffix(".out.safetensors")
        expected = load_file(str(folder / f"{stem}.safetensors"))["y"]
        compare(f"tapegrad loads {stem}.keras", expected, load_file(str(data_path))["y"])


def main():
    command, folder = sys.argv[1], Path(sys.argv[2])
    {"check-exports": check_exports, "make-keras": make_keras, "check-imports": check_imports}[command](folder)
    if failures:
        print("\n".join(["interop check failed:"] + failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
