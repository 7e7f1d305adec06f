package dev.mfn.search.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keys outlive versions: a key file written before the scope {@code browse} existed keeps its
 * "all" keys all (they get browse), while a kiosk's search key does not gain it; and "all" is
 * stored as "all", so the next new scope reaches such keys too.
 */
class ApiKeysUpgradeTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void anAllKeyOfAnOlderFileKeepsEveryScopeAndASearchKeyGainsNothing(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("keys.json");
    ApiKeys keys = ApiKeys.file(file);
    String admin = keys.create("admin", EnumSet.allOf(Scope.class)).key();
    String kiosk = keys.create("kiosk", EnumSet.of(Scope.SEARCH)).key();
    ObjectNode stored = (ObjectNode) JSON.readTree(file.toFile());
    assertThat(stored.path("keys").get(0).path("scopes").toString()).isEqualTo("[\"all\"]");

    // as the previous version wrote an "all" key: its five scopes, one by one
    ArrayNode old = ((ObjectNode) stored.path("keys").get(0)).putArray("scopes");
    for (String scope : new String[] {"delete", "enroll", "retrain", "search", "verify"}) {
      old.add(scope);
    }
    JSON.writeValue(file.toFile(), stored);

    ApiKeys reloaded = ApiKeys.file(file);
    assertThat(reloaded.authenticate(admin).orElseThrow().may(Scope.BROWSE)).isTrue();
    assertThat(reloaded.authenticate(kiosk).orElseThrow().may(Scope.BROWSE)).isFalse();
    assertThat(reloaded.authenticate(kiosk).orElseThrow().may(Scope.SEARCH)).isTrue();
  }
}
