package dev.mfn.search.index;

import java.io.IOException;
import java.nio.file.Path;

/** The contract on the embedded Lucene backend (an index folder per model version). */
class LuceneVectorIndexTest extends VectorIndexContract {
  @Override
  VectorIndex open(Path root, String version) throws IOException {
    return new LuceneVectorIndex(root, version);
  }

  @Override
  Path onDisk(Path root) {
    return root;
  }

  @Override
  byte[] storedForm(byte[] crop) {
    return crop;
  }

  @Override
  java.util.Optional<String> served(Path root) throws IOException {
    return LuceneVectorIndex.servedVersion(root);
  }
}
