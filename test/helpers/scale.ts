// Linear-or-not checks for tests: run a workload at n and 8n and compare the times, not a
// time. A linear workload takes about 8× as long at 8n, a quadratic one 64×; a bound of 20×
// leaves room for a loaded machine (2 CPUs shared by several builds) and the collector.

export const SCALE_FACTOR = 8;
export const MAX_RATIO = 20;

/** The fastest of `runs` runs and the last result (the slower runs lost time to the machine, not the code). */
export async function fastest<T>(run: () => Promise<T>, runs: number): Promise<{ ms: number; result: T }> {
  let best = Infinity;
  let result: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    result = await run();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, result: result! };
}

/**
 * time(workload(make(8n))) / time(workload(make(n))), each the fastest of a few runs (7 and
 * `largeRuns`) after a warm-up on the small input (the JIT sees the same shapes first).
 */
export async function scaleRatio<T>(n: number, make: (n: number) => string, workload: (text: string) => Promise<T>, largeRuns = 3): Promise<{ ratio: number; small: T; large: T }> {
  const smallText = make(n);
  await workload(smallText);
  const small = await fastest(() => workload(smallText), 7);
  const largeText = make(SCALE_FACTOR * n);
  const large = await fastest(() => workload(largeText), largeRuns);
  return { ratio: large.ms / small.ms, small: small.result, large: large.result };
}
