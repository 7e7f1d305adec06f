package dev.mfn.publish;

/** Why a file under the published folder was not sent. Each one is counted and reported. */
public enum SkipReason {
  /** The bytes are not a known image format (text, archives, hidden system files...). */
  NOT_AN_IMAGE("not an image"),
  /** Zero bytes. */
  EMPTY_FILE("empty file"),
  /** The file could not be read (permissions, I/O error, vanished while walking). */
  UNREADABLE("unreadable"),
  /** Larger than the configured maximum photo size. */
  OVER_SIZE_LIMIT("over the size limit"),
  /** Sits directly in the published folder, so it has no identity folder to label it. */
  NO_IDENTITY_FOLDER("not inside an identity folder"),
  /** A device, FIFO, socket or folder where a photo was expected (never opened: a FIFO blocks). */
  NOT_A_REGULAR_FILE("not a regular file"),
  /** The identity folder's name is over 256 characters or holds control characters. */
  BAD_SUBJECT("subject name not acceptable");

  private final String description;

  SkipReason(String description) {
    this.description = description;
  }

  public String description() {
    return description;
  }
}
