package dev.mfn.flink.common;

import dev.mfn.records.DeadLetter;
import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import java.io.IOException;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Reads RawImage records from Kafka for a Flink KafkaSource. A record that is not a readable
 * RawImage does not fail the job: it becomes a DeadLetter (reason {@value #UNDECODABLE}) on the
 * left side, to be routed to the dead-letter topic by {@link SplitDeadLetters}.
 */
public final class RawImageDeserializer
    implements KafkaRecordDeserializationSchema<Either<DeadLetter, RawImage>> {
  public static final String STAGE = "source";
  public static final String UNDECODABLE = "UNDECODABLE_RECORD";
  public static final String EMPTY = "EMPTY_RECORD";

  private final String job;
  private transient AvroSerde<RawImage> serde;

  public RawImageDeserializer(String job) {
    this.job = job;
  }

  @Override
  public void deserialize(
      ConsumerRecord<byte[], byte[]> record, Collector<Either<DeadLetter, RawImage>> out)
      throws IOException {
    if (serde == null) {
      serde = new AvroSerde<>(RawImage.class);
    }
    if (record.value() == null || record.value().length == 0) {
      out.collect(Either.Left(DeadLetters.fromKafkaRecord(job, STAGE, EMPTY, "no value", record)));
      return;
    }
    try {
      out.collect(Either.Right(serde.decode(record.value())));
    } catch (SerializationException e) {
      String detail = e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
      out.collect(
          Either.Left(DeadLetters.fromKafkaRecord(job, STAGE, UNDECODABLE, detail, record)));
    }
  }

  @Override
  public TypeInformation<Either<DeadLetter, RawImage>> getProducedType() {
    return new EitherTypeInfo<>(
        new AvroTypeInfo<>(DeadLetter.class), new AvroTypeInfo<>(RawImage.class));
  }
}
