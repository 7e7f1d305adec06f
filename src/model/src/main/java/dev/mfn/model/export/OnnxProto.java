package dev.mfn.model.export;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One protobuf message of the ONNX format being written, field by field. ONNX ships no Java
 * classes (its {@code onnx.proto} is compiled for C++ and Python), so the few messages a model
 * needs are written with protobuf's own {@link CodedOutputStream} and the field numbers of
 * onnx.proto (the ONNX project's schema, {@code onnx/onnx.proto}), named in {@link Fields}.
 * Nested messages are written whole into their parent (length-delimited), as protobuf requires.
 */
final class OnnxProto {
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final CodedOutputStream out = CodedOutputStream.newInstance(bytes);

  OnnxProto string(int field, String value) {
    return write(() -> out.writeString(field, value));
  }

  OnnxProto int64(int field, long value) {
    return write(() -> out.writeInt64(field, value));
  }

  OnnxProto int32(int field, int value) {
    return write(() -> out.writeInt32(field, value));
  }

  /** A repeated int64 field, unpacked (onnx.proto is proto2, whose repeated scalars are unpacked). */
  OnnxProto int64s(int field, long... values) {
    for (long v : values) {
      int64(field, v);
    }
    return this;
  }

  OnnxProto bytes(int field, byte[] value) {
    return write(() -> out.writeByteArray(field, value));
  }

  OnnxProto message(int field, OnnxProto message) {
    return bytes(field, message.toByteArray());
  }

  byte[] toByteArray() {
    write(out::flush);
    return bytes.toByteArray();
  }

  private OnnxProto write(IoAction action) {
    try {
      action.run();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a byte array stream does not fail
    }
    return this;
  }

  private interface IoAction {
    void run() throws IOException;
  }

  /** Field numbers of onnx.proto, per message. */
  static final class Fields {
    private Fields() {}

    static final int MODEL_IR_VERSION = 1;
    static final int MODEL_PRODUCER_NAME = 2;
    static final int MODEL_PRODUCER_VERSION = 3;
    static final int MODEL_DOC_STRING = 6;
    static final int MODEL_GRAPH = 7;
    static final int MODEL_OPSET_IMPORT = 8;
    static final int MODEL_METADATA_PROPS = 14;

    static final int OPSET_DOMAIN = 1;
    static final int OPSET_VERSION = 2;

    static final int ENTRY_KEY = 1;
    static final int ENTRY_VALUE = 2;

    static final int GRAPH_NODE = 1;
    static final int GRAPH_NAME = 2;
    static final int GRAPH_INITIALIZER = 5;
    static final int GRAPH_INPUT = 11;
    static final int GRAPH_OUTPUT = 12;

    static final int NODE_INPUT = 1;
    static final int NODE_OUTPUT = 2;
    static final int NODE_NAME = 3;
    static final int NODE_OP_TYPE = 4;
    static final int NODE_ATTRIBUTE = 5;

    static final int ATTRIBUTE_NAME = 1;
    static final int ATTRIBUTE_I = 3;
    static final int ATTRIBUTE_INTS = 8;
    static final int ATTRIBUTE_TYPE = 20;
    static final int ATTRIBUTE_TYPE_INT = 2;
    static final int ATTRIBUTE_TYPE_INTS = 7;

    static final int TENSOR_DIMS = 1;
    static final int TENSOR_DATA_TYPE = 2;
    static final int TENSOR_NAME = 8;
    static final int TENSOR_RAW_DATA = 9;
    static final int TENSOR_TYPE_FLOAT = 1;

    static final int VALUE_INFO_NAME = 1;
    static final int VALUE_INFO_TYPE = 2;
    static final int TYPE_TENSOR = 1;
    static final int TENSOR_TYPE_ELEM_TYPE = 1;
    static final int TENSOR_TYPE_SHAPE = 2;
    static final int SHAPE_DIM = 1;
    static final int DIM_VALUE = 1;
    static final int DIM_PARAM = 2;
  }
}
