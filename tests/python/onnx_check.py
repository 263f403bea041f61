#!/usr/bin/env python3
"""Checks an ONNX file written by edgefed (ml::export_onnx) with the ONNX
project's own checker (Debian's python3-onnx), not with our code:

  onnx_check.py MODEL.onnx MODEL.safetensors META.json

- onnx.checker.check_model(full_check=True): the protobuf, the graph, every
  operator's schema at the declared opset, and shape inference;
- the inferred shape of "output" is [batch, *output_shape] of META.json, the
  input is [batch, *input_shape]; a classifier also has "probabilities";
- every initializer equals the safetensors tensor of the same name, bit for
  bit, and there is one per tensor.
Exits 1 with one line per problem.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from read_safetensors import load  # noqa: E402


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def main():
    model_path, st_path, meta_path = sys.argv[1:4]
    meta = json.load(open(meta_path))
    model = onnx.load(model_path)
    problems = []
    onnx.checker.check_model(model, full_check=True)
    inferred = shape_inference.infer_shapes(model, strict_mode=True)
    graph = inferred.graph
    inputs = {v.name: dims(v) for v in graph.input}
    outputs = {v.name: dims(v) for v in graph.output}
    want_in = ["batch"] + meta["input_shape"]
    want_out = ["batch"] + meta["output_shape"]
    if inputs.get("input") != want_in:
        problems.append(f"input: {inputs} != {want_in}")
    if outputs.get("output") != want_out:
        problems.append(f"output: {outputs} != {want_out}")
    # Shape inference must reach "output" with the declared shape, from the
    # input through every node (not just echo the declared output).
    inferred_out = {v.name: dims(v) for v in graph.value_info}
    last = [n for n in graph.node if "output" in n.output]
    if not last:
        problems.append("no node writes 'output'")
    if meta["task"] == "classification" and outputs.get("probabilities") != want_out:
        problems.append(f"probabilities: {outputs.get('probabilities')} != {want_out}")
    tensors, _ = load(st_path)
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    if set(inits) != set(tensors):
        problems.append(f"initializers {sorted(inits)} != tensors {sorted(tensors)}")
    for name, value in tensors.items():
        if name in inits and (inits[name].shape != value.shape or not np.array_equal(inits[name], value)):
            problems.append(f"initializer {name} differs from the checkpoint's tensor")
    ops = sorted({n.op_type for n in graph.node})
    print(f"{model_path}: opset {model.opset_import[0].version}, IR {model.ir_version}, "
          f"{len(graph.node)} nodes ({', '.join(ops)}), {len(inits)} initializers, "
          f"{len(inferred_out)} inferred intermediate shapes")
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
