/** One part of `npm run bench`: prints figures, asserts nothing. */
export interface BenchSection {
  name: string;
  run(): Promise<void>;
}

/** Median and percentile of a sample (nearest-rank). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const ms = (n: number) => `${n.toFixed(1)} ms`;
