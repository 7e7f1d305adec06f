package dev.mfn.flink.embed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.records.ModelEvent;
import dev.mfn.records.ModelEventKind;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.LocalKafka;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Writers of the models topic do not coordinate (a training run, an operator's `mfn models`, the
 * embed job's gate): three of them append at the same moment, four events each, and every event
 * ends up with a number no earlier event on the topic has, so no follower drops one as stale.
 */
@ExtendWith(LocalKafka.class)
class ModelEventsTopicTest {
  @Test
  void concurrentWritersNeverLoseAnEventToADuplicateNumber(KafkaBroker broker) throws Exception {
    String topic = "events-race";
    dev.mfn.flink.common.KafkaTopics.ensure(broker.bootstrapServers(), topic, 1, java.util.Map.of());
    ModelEventsTopic events = new ModelEventsTopic(broker.bootstrapServers(), topic);
    int writers = 3;
    int each = 4;
    CountDownLatch start = new CountDownLatch(1);
    var pool = Executors.newFixedThreadPool(writers);
    List<CompletableFuture<List<ModelEvent>>> sent = new ArrayList<>();
    for (int w = 0; w < writers; w++) {
      String who = "writer-" + w;
      sent.add(CompletableFuture.supplyAsync(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
        List<ModelEvent> mine = new ArrayList<>();
        for (int i = 0; i < each; i++) {
          int n = i;
          mine.add(events.append(sequence -> ModelEvent.newBuilder().setKind(ModelEventKind.RETIRED)
              .setModelVersion(who + "-" + n).setLocation("/none").setSequence(sequence).setTimestamp(Instant.now()).build()));
        }
        return mine;
      }, pool));
    }
    start.countDown();
    List<ModelEvent> returned = new ArrayList<>();
    for (var f : sent) {
      returned.addAll(f.get());
    }
    pool.shutdown();
    assertThat(returned).hasSize(writers * each);

    // in topic order, each returned event is numbered above every event before it: a follower applies all
    List<ModelEventsTopic.Positioned> history = events.history();
    long highest = 0;
    int applied = 0;
    for (ModelEventsTopic.Positioned p : history) {
      boolean isReturned = returned.stream().anyMatch(e -> e.getModelVersion().equals(p.event().getModelVersion())
          && e.getSequence() == p.event().getSequence());
      if (p.event().getSequence() > highest) {
        highest = p.event().getSequence();
        if (isReturned) {
          applied++;
        }
      } else {
        assertThat(isReturned).as("an event a writer was told went through is stale: %s", p.event()).isFalse();
      }
    }
    assertThat(applied).isEqualTo(writers * each);
  }
}
