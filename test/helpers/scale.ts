// Linear-or-not checks for tests: run a workload at n and 8n and compare the times, not a
// time. A linear workload takes about 8× as long at 8n, a quadratic one 64×; a bound of 20×
// leaves room for the collector and the JIT. The times are this process's CPU time, not
// the clock's: on a loaded machine (2 CPUs shared by several builds) the wall time of the
// longer run loses more to other processes (a linear case measured 27× that way, at load
// ~5). Test files run in their own processes (vitest's forks pool), so the CPU is theirs.

export const SCALE_FACTOR = 8;
export const MAX_RATIO = 20;

/** The least CPU time (ms) of `runs` runs, and the last result. */
export async function fastest<T>(run: () => Promise<T>, runs: number): Promise<{ ms: number; result: T }> {
  let best = Infinity;
  let result: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = process.cpuUsage();
    result = await run();
    const used = process.cpuUsage(t0);
    best = Math.min(best, (used.user + used.system) / 1000);
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
