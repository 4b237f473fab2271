// Failure detectors (deadline, phi accrual): pure, driven by the time they are given. Re-exports only.
export {
  createDetector,
  type Detector,
  type DetectorKind,
  type DetectorOptions,
  type DetectorState,
  instantAfter,
} from './detector.js';
export { PHI_DEFAULTS, type PhiOptions } from './phi.js';
