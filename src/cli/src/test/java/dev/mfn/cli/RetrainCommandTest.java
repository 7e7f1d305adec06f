package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.config.MfnSettings;
import dev.mfn.records.RetrainRequest;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.TopicReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** `mfn retrain` as a person runs it: the request lands on training.requests for the controller. */
@ExtendWith(LocalKafka.class)
class RetrainCommandTest {
  @Test
  void queuesARetrainRequest(KafkaBroker broker) throws Exception {
    MfnCliTest.Run run = MfnCliTest.mfn("retrain", "--bootstrap", broker.bootstrapServers(), "--reason", "more people",
        "--minutes", "90", "--param", "batch=256");
    assertThat(run.exit()).as(run.err()).isZero();
    String topic = MfnSettings.load().topics().retrain();
    var records = TopicReader.readAll(broker.bootstrapServers(), topic);
    RetrainRequest request = new AvroSerde<>(RetrainRequest.class).decode(records.get(records.size() - 1).value());
    assertThat(run.out()).contains("queued retrain request " + request.getRequestId() + " on " + topic);
    assertThat(request.getMaxMinutes()).isEqualTo(90);
    assertThat(request.getEpochs()).isNull();
    assertThat(request.getReason()).isEqualTo("more people");
    assertThat(request.getParameters()).containsEntry("batch", "256");

    MfnCliTest.Run both = MfnCliTest.mfn("retrain", "--bootstrap", broker.bootstrapServers(), "--epochs", "3", "--minutes", "9");
    assertThat(both.exit()).isEqualTo(2);
    assertThat(both.err().strip().lines()).hasSize(1).first().asString().contains("--epochs or --minutes");
  }
}
