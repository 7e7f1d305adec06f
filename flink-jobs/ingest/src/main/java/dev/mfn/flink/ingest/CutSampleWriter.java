package dev.mfn.flink.ingest;

import dev.mfn.records.FaceSample;
import java.io.IOException;
import org.apache.flink.api.common.serialization.BulkWriter;
import org.apache.flink.core.fs.FSDataOutputStream;
import org.apache.flink.formats.avro.AvroWriters;

/** Writes the FaceSample of each {@link CutSample} as Avro (the cut only chose the folder). */
final class CutSampleWriter implements BulkWriter.Factory<CutSample> {
  private final BulkWriter.Factory<FaceSample> avro = AvroWriters.forSpecificRecord(FaceSample.class);

  @Override
  public BulkWriter<CutSample> create(FSDataOutputStream out) throws IOException {
    BulkWriter<FaceSample> writer = avro.create(out);
    return new BulkWriter<>() {
      @Override
      public void addElement(CutSample element) throws IOException {
        writer.addElement(element.sample);
      }

      @Override
      public void flush() throws IOException {
        writer.flush();
      }

      @Override
      public void finish() throws IOException {
        writer.finish();
      }
    };
  }
}
