/**
 * Loaded into the proxy process by the soak (`node --import <this> dist/src/main.js`): every
 * SOAK_SAMPLE_INTERVAL_MS it appends one JSON line to SOAK_SAMPLE_FILE with the process's RSS,
 * heap and event-loop delay (p50, p99, max over the interval), then resets the histogram.
 * It reads only SOAK_* variables and never touches the proxy's own code or settings.
 */
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.SOAK_SAMPLE_FILE;
const intervalMs = Number(process.env.SOAK_SAMPLE_INTERVAL_MS ?? '5000');

if (file && Number.isFinite(intervalMs) && intervalMs > 0) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const started = Date.now();
  const timer = setInterval(() => {
    const memory = process.memoryUsage();
    const sample = {
      atMs: Date.now() - started,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      // The histogram is in nanoseconds.
      eventLoopP50Ms: histogram.percentile(50) / 1e6,
      eventLoopP99Ms: histogram.percentile(99) / 1e6,
      eventLoopMaxMs: histogram.max / 1e6,
    };
    histogram.reset();
    appendFileSync(file, `${JSON.stringify(sample)}\n`);
  }, intervalMs);
  // The sampler must never keep the proxy alive on its own.
  timer.unref();
}
