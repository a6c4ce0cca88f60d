// util/lazy.ts: properties worked out on first read. A plan step carries values whose size
// grows with the stage (a RUN's environment lists every variable set so far); building them
// for every step made planning cost steps × variables. The getters stay enumerable, so JSON
// output, spreads and deep equality see ordinary properties.

/**
 * Make each property named in `getters` an enumerable getter that computes its value once,
 * on first read. Pass getters that close over what they need only (not a planner's scope:
 * the step keeps them alive as long as the plan).
 */
export function defineLazy<T extends object>(obj: T, getters: { readonly [K in keyof T]?: () => T[K] }): T {
  for (const [name, compute] of Object.entries(getters) as [string, () => unknown][]) {
    let done = false;
    let value: unknown;
    Object.defineProperty(obj, name, {
      enumerable: true,
      configurable: true,
      get: () => {
        if (!done) {
          value = compute();
          done = true;
        }
        return value;
      },
    });
  }
  return obj;
}
