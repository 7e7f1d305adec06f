package dev.mfn.retrain;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.records.RetrainRequest;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When the trigger asks for a model: growth past either amount against the serving model's data,
 * never twice for the same shard set, at most once per cool-down, and not again at once after a
 * restart (its memory is a file).
 */
class ShardGrowthTriggerTest {
  @Test
  void asksOncePerGrowthAndCoolDown(@TempDir Path dir) throws Exception {
    AtomicReference<ShardGrowthTrigger.DataSize> shards = new AtomicReference<>(new ShardGrowthTrigger.DataSize(105, 4000));
    AtomicReference<String> where = new AtomicReference<>("/shards/cuts/a");
    AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-29T00:00:00Z"));
    List<RetrainRequest> sent = new ArrayList<>();
    ShardGrowthTrigger.DataSize served = new ShardGrowthTrigger.DataSize(100, 3800);
    Path state = dir.resolve("trigger.json");
    java.util.function.Supplier<ShardGrowthTrigger> make = () -> new ShardGrowthTrigger(() -> Optional.of(shards.get()),
        () -> Optional.of(served), where::get, new ShardGrowthTrigger.Thresholds(10, 1000, Duration.ofHours(24)), state,
        sent::add, new Clock() {
          @Override
          public ZoneOffset getZone() {
            return ZoneOffset.UTC;
          }

          @Override
          public Clock withZone(java.time.ZoneId zone) {
            return this;
          }

          @Override
          public Instant instant() {
            return now.get();
          }
        });
    ShardGrowthTrigger trigger = make.get();
    assertThat(trigger.check()).as("5 new identities, 200 samples: not enough").isEmpty();
    shards.set(new ShardGrowthTrigger.DataSize(112, 4100));
    assertThat(trigger.check()).as("12 new identities").isPresent();
    assertThat(sent).singleElement().satisfies(r -> {
      assertThat(r.getRequestedBy()).isEqualTo("trigger:shard-growth");
      assertThat(r.getShardsUri()).isEqualTo("/shards/cuts/a");
      assertThat(r.getReason()).contains("12 identities");
    });
    assertThat(trigger.check()).as("the same shard set again").isEmpty();
    where.set("/shards/cuts/b");
    shards.set(new ShardGrowthTrigger.DataSize(130, 9000));
    now.set(now.get().plus(Duration.ofHours(2)));
    assertThat(make.get().check()).as("grown again, but within the cool-down, after a restart").isEmpty();
    now.set(now.get().plus(Duration.ofHours(23)));
    assertThat(make.get().check()).as("after the cool-down").isPresent();
    assertThat(sent).hasSize(2);
  }
}
