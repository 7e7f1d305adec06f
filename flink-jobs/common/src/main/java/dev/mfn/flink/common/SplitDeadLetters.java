package dev.mfn.flink.common;

import dev.mfn.records.DeadLetter;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Sends the good values on and the dead letters to a side output, so every stage can reject a
 * record without losing it or failing the job.
 */
public final class SplitDeadLetters<T> extends ProcessFunction<Either<DeadLetter, T>, T> {
  /** The side output every job routes to the dead-letter topic. */
  public static final OutputTag<DeadLetter> DEAD_LETTERS =
      new OutputTag<>("dead-letters", new AvroTypeInfo<>(DeadLetter.class));

  private final TypeInformation<T> valueType;

  public SplitDeadLetters(TypeInformation<T> valueType) {
    this.valueType = valueType;
  }

  public TypeInformation<T> valueType() {
    return valueType;
  }

  @Override
  public void processElement(Either<DeadLetter, T> value, Context ctx, Collector<T> out) {
    if (value.isLeft()) {
      ctx.output(DEAD_LETTERS, value.left());
    } else {
      out.collect(value.right());
    }
  }
}
