package dev.mfn.records.kafka;

import dev.mfn.records.ReleasedSchemas;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import org.apache.avro.Schema;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serializer and deserializer for one of our Avro records, in Avro's single-object encoding
 * (a 10-byte header with the writer schema's fingerprint, then the binary record).
 *
 * <p>Why this encoding: it needs no schema registry (none runs on one machine), yet a reader still
 * knows which schema wrote a record. Records written with any released version of the schema decode
 * into the current class, because the decoder knows every released schema.
 */
public final class AvroSerde<T extends SpecificRecord> implements Serializer<T>, Deserializer<T> {
  private final BinaryMessageEncoder<T> encoder;
  private final BinaryMessageDecoder<T> decoder;
  private final String schemaName;

  public AvroSerde(Class<T> type) {
    SpecificData model = SpecificData.getForClass(type);
    Schema schema = model.getSchema(type);
    this.schemaName = schema.getName();
    this.encoder = new BinaryMessageEncoder<>(model, schema);
    this.decoder =
        new BinaryMessageDecoder<>(model, schema, ReleasedSchemas.store(schema.getName()));
  }

  /** Encodes a record into a fresh array. */
  public byte[] encode(T record) {
    try {
      ByteBuffer buffer = encoder.encode(record);
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      return bytes;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Decodes a record; throws {@link SerializationException} for bytes that are not one. */
  public T decode(byte[] bytes) {
    try {
      return decoder.decode(bytes);
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("not a readable " + schemaName + " record", e);
    }
  }

  @Override
  public byte[] serialize(String topic, T data) {
    return data == null ? null : encode(data);
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    return data == null ? null : decode(data);
  }

  @Override
  public void configure(java.util.Map<String, ?> configs, boolean isKey) {
    // nothing to configure: the record type is fixed at construction
  }

  @Override
  public void close() {
    // holds no resources
  }
}
