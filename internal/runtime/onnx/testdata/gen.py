#!/usr/bin/python3
"""Write the small ONNX models the onnx package's tests load.

    /usr/bin/python3 internal/runtime/onnx/testdata/gen.py

Needs Debian's python3-onnx. The models are built node by node with
onnx.helper, so the output is the same on every run.

    types.onnx        inputs a DOUBLE [N,2], b INT64 [N], c INT32 [N], d BOOL [N];
                      outputs a2 = a*a, b1 = b+1, c_neg = -c, d_not = not d
    free.onnx         input x FP32 [N,M] (two free dimensions: no warm-up); y = x
    scalar.onnx       input s FP32 [] (rank 0), x FP32 [N]; y = x*s
    sequence.onnx     outputs y FP32 [N] = x and seq, a sequence of tensors
    only_sequence.onnx  the only output is a sequence
    uint8.onnx        input x UINT8 [N]
    unknown_op.onnx   parses, but uses an operator no runtime knows
"""

import os

import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = [helper.make_opsetid("", 13)]


def save(name, nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="slipway-testdata")
    model.ir_version = 8
    if name != "unknown_op":
        onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(HERE, name + ".onnx"))


def tensor(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def main():
    save("types",
         [helper.make_node("Mul", ["a", "a"], ["a2"]),
          helper.make_node("Add", ["b", "one"], ["b1"]),
          helper.make_node("Neg", ["c"], ["c_neg"]),
          helper.make_node("Not", ["d"], ["d_not"])],
         [tensor("a", TensorProto.DOUBLE, ["N", 2]), tensor("b", TensorProto.INT64, ["N"]),
          tensor("c", TensorProto.INT32, ["N"]), tensor("d", TensorProto.BOOL, ["N"])],
         [tensor("a2", TensorProto.DOUBLE, ["N", 2]), tensor("b1", TensorProto.INT64, ["N"]),
          tensor("c_neg", TensorProto.INT32, ["N"]), tensor("d_not", TensorProto.BOOL, ["N"])],
         [helper.make_tensor("one", TensorProto.INT64, [], [1])])
    save("free",
         [helper.make_node("Identity", ["x"], ["y"])],
         [tensor("x", TensorProto.FLOAT, ["N", "M"])],
         [tensor("y", TensorProto.FLOAT, ["N", "M"])])
    save("scalar",
         [helper.make_node("Mul", ["x", "s"], ["y"])],
         [tensor("s", TensorProto.FLOAT, []), tensor("x", TensorProto.FLOAT, ["N"])],
         [tensor("y", TensorProto.FLOAT, ["N"])])
    seq = helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, None)
    save("sequence",
         [helper.make_node("Identity", ["x"], ["y"]),
          helper.make_node("SequenceConstruct", ["x", "x"], ["seq"])],
         [tensor("x", TensorProto.FLOAT, ["N"])],
         [tensor("y", TensorProto.FLOAT, ["N"]), seq])
    save("only_sequence",
         [helper.make_node("SequenceConstruct", ["x", "x"], ["seq"])],
         [tensor("x", TensorProto.FLOAT, ["N"])],
         [seq])
    save("uint8",
         [helper.make_node("Identity", ["x"], ["y"])],
         [tensor("x", TensorProto.UINT8, ["N"])],
         [tensor("y", TensorProto.UINT8, ["N"])])
    save("unknown_op",
         [helper.make_node("NoSuchOperator", ["x"], ["y"])],
         [tensor("x", TensorProto.FLOAT, ["N"])],
         [tensor("y", TensorProto.FLOAT, ["N"])])


if __name__ == "__main__":
    main()
