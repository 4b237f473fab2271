// Failure detectors (deadline, phi accrual): pure, driven by the time they are given. Re-exports only.

export { fatalSilenceAt, silenceIsFatal } from './deadline.js';
export {
  createDetector,
  type Detector,
  type DetectorKind,
  type DetectorOptions,
  type DetectorState,
} from './detector.js';
export { PHI_DEFAULTS, type PhiOptions } from './phi.js';
