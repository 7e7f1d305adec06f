package dev.mfn.face;

/**
 * Why a photo could not become an aligned face. These codes are what the dead-letter topic and the
 * CLI summaries report, so they are part of the contract: add new ones, never rename.
 */
public enum RejectReason {
  // fetch (photos sent by reference)
  SOURCE_UNAVAILABLE("fetch", "the photo's file or URI cannot be read (missing, or an I/O error)"),
  SOURCE_FORBIDDEN("fetch", "the photo's URI is outside the configured blob roots, or not a regular file"),
  // decode
  EMPTY_INPUT("decode", "no bytes"),
  TOO_MANY_BYTES("decode", "more bytes than the limit"),
  NOT_AN_IMAGE("decode", "not a known image format"),
  UNSUPPORTED_FORMAT("decode", "an image format we do not decode"),
  CORRUPT_HEADER("decode", "the image header cannot be read"),
  TOO_MANY_PIXELS("decode", "more pixels than the limit (checked before decoding)"),
  TRUNCATED("decode", "the image data ends early"),
  DECODE_FAILED("decode", "the decoder could not read the image"),
  // detect and choose
  NO_FACE("detect", "no face found"),
  LOW_SCORE("detect", "no face above the score threshold"),
  FACE_TOO_SMALL("detect", "the chosen face is below the minimum size"),
  // align
  ALIGNMENT_FAILED("align", "the landmarks give no usable transform"),
  // any stage: an input none of the checks above foresaw made a library fail; set aside, never fatal
  PROCESSING_FAILED("detect", "the decoder, detector or aligner failed on this photo"),
  // records
  BAD_SUBJECT("record", "the subject is empty, longer than 256 characters, or holds control characters");

  private final String stage;
  private final String description;

  RejectReason(String stage, String description) {
    this.stage = stage;
    this.description = description;
  }

  /** The pipeline stage that rejects with this reason (the DeadLetter's stage field). */
  public String stage() {
    return stage;
  }

  public String description() {
    return description;
  }
}
