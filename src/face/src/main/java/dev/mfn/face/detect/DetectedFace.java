package dev.mfn.face.detect;

/**
 * One face found by a detector: its box, confidence and five landmarks.
 *
 * @param estimatedPoints how many of the five landmarks were estimated rather than detected (e.g.
 *     BlazeFace's mouth corners, derived from its mouth centre), so quality checks can weigh them
 */
public record DetectedFace(Box box, double score, Landmarks landmarks, String detector, int estimatedPoints) {}
