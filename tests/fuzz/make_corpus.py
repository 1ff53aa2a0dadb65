#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus, tests/fuzz/corpus/<target>/: small valid files (named
valid-*, which the replay test requires to load) and the classic broken ones (truncated, huge,
zero and negative dimensions, overflowing sizes and offsets, bad magic, bad JSON). The files are
committed; run this again only to change them:  python3 tests/fuzz/make_corpus.py"""
import gzip
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# ---- safetensors: 8-byte little-endian header length, JSON header padded to 8, raw data ----
def safetensors(tensors, metadata=None, header_override=None, length_override=None):
    """tensors: list of (name, dtype, shape, bytes); offsets are computed unless the header is given."""
    header, data, offset = {}, b"", 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = header_override if header_override is not None else json.dumps(header)
    text = text.encode()
    text += b" " * (-len(text) % 8)
    length = len(text) if length_override is None else length_override
    return struct.pack("<Q", length) + text + data


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def f16(values):
    return struct.pack("<%de" % len(values), *values)


w23 = ("w", "F32", [2, 3], f32([0.5, -1, 2, 3.25, 0, 1e-3]))
valid = safetensors([w23, ("b", "F32", [3], f32([1, 2, 3]))], {"format": "example"})
write("safetensors", "valid-f32", valid)
write("safetensors", "valid-f16", safetensors([("h", "F16", [4], f16([1, -2, 0.5, 65504]))]))
write("safetensors", "valid-bf16-f64", safetensors([("z", "BF16", [2], b"\x80\x3f\x00\x40"),
                                                    ("d", "F64", [1], struct.pack("<d", 2.5))]))
write("safetensors", "valid-empty", safetensors([]))
write("safetensors", "valid-scalar", safetensors([("s", "F32", [], f32([7]))]))
write("safetensors", "truncated-data", valid[:-5])
write("safetensors", "truncated-header", valid[:20])
write("safetensors", "truncated-length", valid[:5])
write("safetensors", "empty", b"")
write("safetensors", "header-length-huge", safetensors([w23], length_override=2**64 - 1))
write("safetensors", "header-length-past-end", safetensors([w23], length_override=4096))
write("safetensors", "zero-dim", safetensors([("w", "F32", [0, 3], b"")]))
write("safetensors", "huge-dims", safetensors([], header_override=json.dumps(
    {"w": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 16]}})))
write("safetensors", "dims-product-overflow", safetensors([], header_override=json.dumps(
    {"w": {"dtype": "F32", "shape": [2**32, 2**32, 4], "data_offsets": [0, 0]}})))
write("safetensors", "negative-dim", safetensors([], header_override=json.dumps(
    {"w": {"dtype": "F32", "shape": [-1, 3], "data_offsets": [0, 12]}})))
write("safetensors", "offsets-overflow", safetensors([w23], header_override=json.dumps(
    {"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [2**64 - 8, 16]}})))
write("safetensors", "offsets-reversed", safetensors([w23], header_override=json.dumps(
    {"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [24, 0]}})))
write("safetensors", "offsets-overlap", safetensors([w23, w23], header_override=json.dumps(
    {"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
     "b": {"dtype": "F32", "shape": [2, 3], "data_offsets": [8, 32]}})))
write("safetensors", "bad-json", safetensors([], header_override='{"w": {"dtype": "F32", "shape": [2,'))
write("safetensors", "header-not-object", safetensors([], header_override="[1, 2, 3]"))
write("safetensors", "unknown-dtype", safetensors([("w", "I64", [2], b"\0" * 16)]))
write("safetensors", "metadata-not-strings", safetensors([w23], {"format": 3}))
write("safetensors", "float-shape", safetensors([], header_override=json.dumps(
    {"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}})))

# ---- model: a saved Sequential (safetensors with the config in its metadata) ----
def dense(name, units, activation, input_shape=None):
    config = {"type": "Dense", "name": name, "units": units, "activation": activation, "use_bias": True,
              "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros"}
    if input_shape is not None:
        config["input_shape"] = input_shape
    return config


model_config = {"name": "sequential", "layers": [dense("dense", 3, "relu", [4]), dense("dense_1", 2, "softmax")],
                "input_shape": [4]}
compiled_config = dict(model_config, compile={
    "loss": {"name": "sparse_categorical_crossentropy", "from_logits": False},
    "optimizer": {"type": "SGD", "learning_rate": 0.01, "momentum": 0.9, "nesterov": False, "iterations": 5},
    "metrics": ["accuracy"]})
weights = [("dense/kernel", "F32", [4, 3], f32([0.1 * i for i in range(12)])),
           ("dense/bias", "F32", [3], f32([0, 0.5, -0.5])),
           ("dense_1/kernel", "F32", [3, 2], f32([1, -1, 0.5, 0.25, -2, 2])),
           ("dense_1/bias", "F32", [2], f32([0.1, -0.1]))]
slots = [("optimizer/%s/momentum" % name, dtype, shape, raw) for name, dtype, shape, raw in weights]


def model(config, tensors, iterations=None, config_text=None):
    metadata = {"format": "tapegrad.sequential", "format_version": "1",
                "config": config_text if config_text is not None else json.dumps(config)}
    if iterations is not None:
        metadata["optimizer_iterations"] = str(iterations)
    return safetensors(tensors, metadata)


write("model", "valid-uncompiled", model(model_config, weights))
write("model", "valid-sgd-momentum", model(compiled_config, weights + slots, iterations=5))
write("model", "truncated", model(model_config, weights)[:-7])
write("model", "missing-weight", model(model_config, weights[:3]))
write("model", "wrong-shape", model(model_config, [("dense/kernel", "F32", [3, 4], weights[0][3])] + weights[1:]))
write("model", "config-bad-json", model(None, weights, config_text='{"name": "sequential", "layers": ['))
write("model", "config-huge-units", model(dict(model_config, layers=[dense("dense", 300000000, "relu", [4])]), weights))
write("model", "config-negative-units", model(dict(model_config, layers=[dense("dense", -3, "relu", [4])]), weights))
write("model", "wrong-format", safetensors(weights, {"format": "other", "format_version": "1", "config": "{}"}))
write("model", "iterations-not-a-count", model(compiled_config, weights + slots, iterations="-1e99"))

# ---- model_config: the JSON of Sequential::get_config() alone ----
write("model_config", "valid-uncompiled", json.dumps(model_config))
write("model_config", "valid-compiled", json.dumps(compiled_config))
write("model_config", "valid-adam", json.dumps(dict(model_config, compile={
    "loss": {"name": "mean_squared_error"},
    "optimizer": {"type": "Adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                  "iterations": 0},
    "metrics": []})))
write("model_config", "huge-units", json.dumps(dict(model_config, layers=[dense("dense", 300000000, "relu", [4])])))
write("model_config", "huge-input-shape", json.dumps(dict(model_config, input_shape=[2**40, 2**40])))
write("model_config", "zero-units", json.dumps(dict(model_config, layers=[dense("dense", 0, "relu", [4])])))
write("model_config", "negative-units", json.dumps(dict(model_config, layers=[dense("dense", -1, "relu", [4])])))
write("model_config", "float-units", json.dumps(dict(model_config, layers=[dense("dense", 2.5, "relu", [4])])))
write("model_config", "unknown-layer", json.dumps(dict(model_config, layers=[{"type": "Nope", "name": "x"}])))
write("model_config", "layers-not-list", json.dumps(dict(model_config, layers={"a": 1})))
write("model_config", "not-object", "[1, 2, 3]")
write("model_config", "unknown-activation", json.dumps(dict(model_config, layers=[dense("dense", 3, "nope", [4])])))
write("model_config", "compile-missing-optimizer", json.dumps(dict(model_config, compile={
    "loss": {"name": "mean_squared_error"}})))
write("model_config", "nan-learning-rate", json.dumps(compiled_config).replace("0.01", "NaN"))


# ---- idx: magic (0, 0, 0x08, rank), big-endian uint32 dimensions, bytes ----
def idx(dims, data=None, type_byte=0x08, rank=None):
    rank = len(dims) if rank is None else rank
    header = bytes([0, 0, type_byte, rank]) + b"".join(struct.pack(">I", d) for d in dims)
    if data is None:
        count = 1
        for d in dims:
            count *= d
        data = bytes((i * 37) % 256 for i in range(count))
    return header + data


images = idx([2, 3, 3])
labels = idx([5], bytes([0, 1, 2, 9, 4]))
broken = {
    "truncated-data": images[:-4],
    "truncated-header": images[:9],
    "empty": b"",
    "bad-magic": b"\x12\x34" + images[2:],
    "bad-type": idx([2, 3, 3], type_byte=0x0D),
    "zero-dim": idx([0, 28, 28], b""),
    "huge-dims": idx([0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF], b"\0" * 16),
    "dims-product-overflow": idx([0x10000, 0x10000, 0x10000], b"\0" * 16),
    "dims-past-cap": idx([70000, 28, 28 * 200], b"\0" * 16),
    "rank-zero": idx([], b"\0" * 4, rank=0),
    "rank-past-header": idx([2, 3], rank=200),
    "trailing-bytes": images + b"extra",
    "zero-items-huge-item": idx([0, 10000000, 10000000, 10000000], b""),
}
write("idx", "valid-images", images)
write("idx", "valid-labels", labels)
write("idx", "valid-images-gz", gzip.compress(images, mtime=0))
write("idx", "gz-truncated", gzip.compress(images, mtime=0)[:-6])
write("idx", "gz-bad-crc", gzip.compress(images, mtime=0)[:-8] + b"\0\0\0\0" + gzip.compress(images, mtime=0)[-4:])
write("idx", "gz-huge-claim", gzip.compress(idx([60000, 28, 28], b""), mtime=0))
for name, data in broken.items():
    write("idx", name, data)
# idx_gzip compresses its input itself: the same uncompressed files.
write("idx_gzip", "valid-images", images)
write("idx_gzip", "valid-labels", labels)
for name, data in broken.items():
    write("idx_gzip", name, data)

# ---- csv: a header line, then numbers; "y" is the target the entry asks for ----
write("csv", "valid", "a,b,y\n1,2,3\n4.5,-6,7e3\n")
write("csv", "valid-quoted-crlf", '"a","b,c",y\r\n1,"2",3\r\n\r\n4,5,6\r\n')
write("csv", "valid-no-target", "p,q\n1,2\n")
write("csv", "header-only", "a,b,y\n")
write("csv", "empty", "")
write("csv", "ragged", "a,b,y\n1,2\n3,4,5,6\n")
write("csv", "not-a-number", "a,b,y\n1,n/a,3\n")
write("csv", "nan-inf", "a,b,y\nnan,inf,3\n-inf,1,1e999\n")
write("csv", "unterminated-quote", 'a,b,y\n1,"2,3\n')
write("csv", "duplicate-names", "y,y,y\n1,2,3\n")
write("csv", "no-newline", "a,b,y")
write("csv", "nul-bytes", b"a,b,y\n1,\0,3\n")
write("csv", "huge-number", "a,b,y\n" + "9" * 400 + ",1,2\n")
