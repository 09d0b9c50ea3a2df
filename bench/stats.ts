/** The statistics every bench phase shares. */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/**
 * The p-th percentile of ascending `sorted` values that were rounded to multiples of `step`
 * (hey reports latencies to 0.1 ms): within the bin where the rank falls, values are taken as
 * spread evenly over [v - step/2, v + step/2], so two cases 0.05 ms apart do not both read as
 * the same 0.1 ms step.
 */
export function binnedPercentile(sorted: readonly number[], p: number, step: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = (p / 100) * n;
  let below = 0;
  let i = 0;
  while (i < n) {
    const value = sorted[i] ?? NaN;
    let j = i;
    while (j < n && sorted[j] === value) j++;
    const inBin = j - i;
    if (below + inBin >= rank) return value - step / 2 + (step * (rank - below)) / inBin;
    below += inBin;
    i = j;
  }
  return sorted[n - 1] ?? NaN;
}
