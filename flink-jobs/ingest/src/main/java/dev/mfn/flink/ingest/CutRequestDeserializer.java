package dev.mfn.flink.ingest;

import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A cut request's name from its record value. A record without a value (a tombstone, a stray
 * producer) is skipped: it must not fail the job, which would replay it forever.
 */
final class CutRequestDeserializer implements KafkaRecordDeserializationSchema<String> {
  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<String> out) {
    if (record.value() != null) {
      out.collect(new String(record.value(), StandardCharsets.UTF_8).trim());
    }
  }

  @Override
  public TypeInformation<String> getProducedType() {
    return Types.STRING;
  }
}
