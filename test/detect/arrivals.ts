// Synthetic heartbeat arrivals for the detector tests: a seeded PRNG and a periodic sender with jitter
// and loss. Times are plain numbers (ms), the detectors' fake clock.

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ArrivalModel {
  interval: number;
  /** Each arrival lands within ± jitter × interval of its slot. */
  jitter: number;
  /** Probability that a heartbeat is lost. */
  loss: number;
  count: number;
  start?: number;
}

/** Arrival times of a periodic sender whose heartbeats are jittered and sometimes lost, in order. */
export function arrivals(model: ArrivalModel, random: () => number): number[] {
  const out: number[] = [];
  const start = model.start ?? 0;
  let last = start;
  for (let i = 1; i <= model.count; i++) {
    if (random() < model.loss) continue;
    const t = start + i * model.interval + (random() * 2 - 1) * model.jitter * model.interval;
    if (t > last) {
      out.push(t);
      last = t;
    }
  }
  return out;
}
