package dev.mfn.face.augment;

/** The seed's augmentations, plus the horizontal flip used in training. */
public enum Augmentation {
  NONE,
  OPENING,
  GAUSSIAN_NOISE,
  SALT_AND_PEPPER,
  FLIP
}
