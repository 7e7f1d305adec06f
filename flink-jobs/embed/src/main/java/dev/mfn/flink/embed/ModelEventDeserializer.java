package dev.mfn.flink.embed;

import dev.mfn.flink.common.DeadLetters;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.ModelEvent;
import dev.mfn.records.kafka.AvroSerde;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.SerializationException;

/** Reads models.events; a record that is no ModelEvent becomes a dead letter, not a failure. */
final class ModelEventDeserializer implements KafkaRecordDeserializationSchema<Either<DeadLetter, ModelEvent>> {
  private transient AvroSerde<ModelEvent> serde;

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<Either<DeadLetter, ModelEvent>> out) {
    if (serde == null) {
      serde = new AvroSerde<>(ModelEvent.class);
    }
    try {
      if (record.value() == null) {
        throw new SerializationException("no value");
      }
      out.collect(Either.Right(serde.decode(record.value())));
    } catch (SerializationException e) {
      String detail = e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
      out.collect(Either.Left(DeadLetters.fromKafkaRecord("embed", "model-events", "UNDECODABLE_RECORD", detail, record)));
    }
  }

  @Override
  public TypeInformation<Either<DeadLetter, ModelEvent>> getProducedType() {
    return new EitherTypeInfo<>(new AvroTypeInfo<>(DeadLetter.class), new AvroTypeInfo<>(ModelEvent.class));
  }
}
