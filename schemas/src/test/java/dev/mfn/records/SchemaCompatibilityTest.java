package dev.mfn.records;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.records.kafka.AvroSerde;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Holds every current schema compatible, in both directions, with each released version: a new
 * reader reads old records (backward) and an old reader reads new records (forward), so producers and
 * consumers can be upgraded in any order.
 */
class SchemaCompatibilityTest {

  static Stream<Schema> currentSchemas() {
    return Stream.of(
        RawImage.getClassSchema(),
        FaceSample.getClassSchema(),
        FaceEmbedding.getClassSchema(),
        DeadLetter.getClassSchema(),
        ModelEvent.getClassSchema(),
        RetrainRequest.getClassSchema());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("currentSchemas")
  void currentSchemaIsFullyCompatibleWithEveryReleasedVersion(Schema current) {
    List<String> versions = ReleasedSchemas.versions();
    assertThat(versions).isNotEmpty();
    for (String version : versions) {
      Schema released =
          ReleasedSchemas.schema(version, current.getName())
              .orElseThrow(() -> new AssertionError(current.getName() + " missing in " + version));
      assertThat(compatibility(current, released))
          .as("%s: current reads records written with %s", current.getName(), version)
          .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
      assertThat(compatibility(released, current))
          .as("%s: release %s reads records written now", current.getName(), version)
          .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
    }
  }

  @Test
  void theCheckCatchesAnIncompatibleChange() {
    // A required field added without a default: old records cannot be read by the new reader.
    Schema released = ReleasedSchemas.schema("0.1", "RetrainRequest").orElseThrow();
    Schema broken =
        SchemaBuilder.record("RetrainRequest")
            .namespace("dev.mfn.records")
            .fields()
            .requiredString("requestId")
            .requiredString("mandatoryNewField")
            .endRecord();
    assertThat(compatibility(broken, released)).isEqualTo(SchemaCompatibilityType.INCOMPATIBLE);
  }

  @Test
  void serdeRoundTripsAndReadsRecordsOfAnOlderWriter() throws Exception {
    RawImage image =
        RawImage.newBuilder()
            .setId("abc")
            .setSubject("042")
            .setSource("042/frontal/01.jpg")
            .setContentType("image/jpeg")
            .setSizeBytes(3)
            .setSha256("00")
            .setData(ByteBuffer.wrap(new byte[] {1, 2, 3}))
            .setTimestamp(java.time.Instant.ofEpochMilli(1234))
            .setAttributes(Map.of("dataset", "cfp"))
            .build();
    AvroSerde<RawImage> serde = new AvroSerde<>(RawImage.class);
    RawImage back = serde.deserialize("t", serde.serialize("t", image));
    assertThat(back).isEqualTo(image);

    // Write with the released 0.1 schema through the generic API, read into the current class.
    Schema old = ReleasedSchemas.schema("0.1", "RawImage").orElseThrow();
    org.apache.avro.generic.GenericData.Record generic =
        new org.apache.avro.generic.GenericData.Record(old);
    for (Schema.Field f : old.getFields()) {
      generic.put(f.name(), image.get(f.name()));
    }
    generic.put("timestamp", 1234L);
    ByteBuffer encoded =
        new org.apache.avro.message.BinaryMessageEncoder<org.apache.avro.generic.GenericRecord>(
                org.apache.avro.generic.GenericData.get(), old)
            .encode(generic);
    byte[] bytes = new byte[encoded.remaining()];
    encoded.get(bytes);
    assertThat(serde.deserialize("t", bytes).getSubject()).isEqualTo("042");
  }

  @Test
  void garbageIsASerializationErrorNotACrash() {
    AvroSerde<DeadLetter> serde = new AvroSerde<>(DeadLetter.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> serde.deserialize("t", new byte[] {1, 2, 3, 4}))
        .isInstanceOf(org.apache.kafka.common.errors.SerializationException.class);
  }

  private static SchemaCompatibilityType compatibility(Schema reader, Schema writer) {
    return SchemaCompatibility.checkReaderWriterCompatibility(reader, writer).getType();
  }

}
