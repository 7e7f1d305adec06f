package dev.mfn.model.export;

import static dev.mfn.model.export.OnnxProto.Fields.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An ONNX graph being built: float32 weights (initializers), nodes in execution order, one input
 * and one output whose first dimension is the batch ("N", any size). {@link #toModel} gives the
 * bytes of a complete {@code model.onnx}.
 */
final class OnnxGraph {
  /** IR version 8 and opset 13: read by every ONNX Runtime since 1.10. */
  static final int IR_VERSION = 8;
  static final int OPSET = 13;

  private final List<OnnxProto> nodes = new ArrayList<>();
  private final List<OnnxProto> initializers = new ArrayList<>();
  private int names;

  /** Adds a float32 weight and returns its name. */
  String weight(String name, float[] values, long... dims) {
    long count = 1;
    for (long d : dims) {
      count *= d;
    }
    if (count != values.length) {
      throw new IllegalArgumentException(name + ": " + values.length + " values for dims " + java.util.Arrays.toString(dims));
    }
    ByteBuffer raw = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    raw.asFloatBuffer().put(values);
    initializers.add(new OnnxProto()
        .int64s(TENSOR_DIMS, dims)
        .int32(TENSOR_DATA_TYPE, TENSOR_TYPE_FLOAT)
        .string(TENSOR_NAME, name)
        .bytes(TENSOR_RAW_DATA, raw.array()));
    return name;
  }

  /**
   * Adds a node and returns the name of its (single) output. Attribute values are Long (INT) or
   * long[] (INTS): all that convolution and flatten need.
   */
  String node(String opType, Map<String, Object> attributes, String... inputs) {
    return namedNode(opType.toLowerCase(java.util.Locale.ROOT) + "_" + (++names), opType, attributes, inputs);
  }

  /** A node whose output has the given name (the graph's output, say). */
  String namedNode(String output, String opType, Map<String, Object> attributes, String... inputs) {
    OnnxProto node = new OnnxProto();
    for (String in : inputs) {
      node.string(NODE_INPUT, in);
    }
    node.string(NODE_OUTPUT, output).string(NODE_NAME, output).string(NODE_OP_TYPE, opType);
    for (Map.Entry<String, Object> a : attributes.entrySet()) {
      OnnxProto attribute = new OnnxProto().string(ATTRIBUTE_NAME, a.getKey());
      if (a.getValue() instanceof Long i) {
        attribute.int64(ATTRIBUTE_I, i).int32(ATTRIBUTE_TYPE, ATTRIBUTE_TYPE_INT);
      } else if (a.getValue() instanceof long[] ints) {
        attribute.int64s(ATTRIBUTE_INTS, ints).int32(ATTRIBUTE_TYPE, ATTRIBUTE_TYPE_INTS);
      } else {
        throw new IllegalArgumentException("unsupported attribute " + a);
      }
      node.message(NODE_ATTRIBUTE, attribute);
    }
    nodes.add(node);
    return output;
  }

  String node(String opType, String... inputs) {
    return node(opType, Map.of(), inputs);
  }

  /** Attributes in the order given (ONNX does not care; readers of the file might). */
  static Map<String, Object> attributes(Object... keyValues) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      m.put((String) keyValues[i], keyValues[i + 1]);
    }
    return m;
  }

  /**
   * The whole model: this graph reading {@code input} of shape [N, inputDims...] and producing
   * {@code output} (a node's output name) of shape [N, outputDims...].
   */
  byte[] toModel(String name, String input, long[] inputDims, String output, long[] outputDims,
      Map<String, String> metadata, String docString) {
    OnnxProto graph = new OnnxProto();
    nodes.forEach(n -> graph.message(GRAPH_NODE, n));
    graph.string(GRAPH_NAME, name);
    initializers.forEach(t -> graph.message(GRAPH_INITIALIZER, t));
    graph.message(GRAPH_INPUT, valueInfo(input, inputDims));
    graph.message(GRAPH_OUTPUT, valueInfo(output, outputDims));
    OnnxProto model = new OnnxProto()
        .int64(MODEL_IR_VERSION, IR_VERSION)
        .string(MODEL_PRODUCER_NAME, "mfn")
        .string(MODEL_PRODUCER_VERSION, "1")
        .string(MODEL_DOC_STRING, docString)
        .message(MODEL_GRAPH, graph)
        .message(MODEL_OPSET_IMPORT, new OnnxProto().string(OPSET_DOMAIN, "").int64(OPSET_VERSION, OPSET));
    metadata.forEach((k, v) -> model.message(MODEL_METADATA_PROPS,
        new OnnxProto().string(ENTRY_KEY, k).string(ENTRY_VALUE, v)));
    return model.toByteArray();
  }

  private static OnnxProto valueInfo(String name, long[] dims) {
    OnnxProto shape = new OnnxProto().message(SHAPE_DIM, new OnnxProto().string(DIM_PARAM, "N"));
    for (long d : dims) {
      shape.message(SHAPE_DIM, new OnnxProto().int64(DIM_VALUE, d));
    }
    OnnxProto tensor = new OnnxProto().int32(TENSOR_TYPE_ELEM_TYPE, TENSOR_TYPE_FLOAT).message(TENSOR_TYPE_SHAPE, shape);
    return new OnnxProto().string(VALUE_INFO_NAME, name).message(VALUE_INFO_TYPE, new OnnxProto().message(TYPE_TENSOR, tensor));
  }
}
