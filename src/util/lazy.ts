// util/lazy.ts: properties worked out when read. A plan step carries values whose size
// grows with the stage (a RUN's environment lists every variable set so far); building them
// for every step made planning cost steps × variables. The getters stay enumerable, so JSON
// output, spreads and deep equality see ordinary properties.

/**
 * Make each property named in `getters` an enumerable getter. The getters do not cache:
 * what they read (a RUN's environment view, a stage's history) keeps what it worked out,
 * once for every object reading it. Pass getters that close over what they need only (not
 * a planner's scope: the object keeps them alive as long as the plan).
 */
export function defineGetters<T extends object>(obj: T, getters: { readonly [K in keyof T]?: () => T[K] }): T {
  for (const [name, get] of Object.entries(getters) as [string, () => unknown][]) {
    Object.defineProperty(obj, name, { enumerable: true, configurable: true, get });
  }
  return obj;
}
