// An ordered environment: the `KEY=VALUE` list an image config and a build step carry.
// The planner layers ENV and ARG values with these helpers and hands the result to the
// word expander. Names are case-sensitive (Linux) unless `caseInsensitive` is set, which
// is how Windows looks them up (BuildKit's EqualEnvKeys). Pure.

/** One variable. `value` is `""` for a variable that is set but empty. */
export interface EnvEntry {
  readonly key: string;
  readonly value: string;
}

/** An ordered list of variables. When a key repeats, the later entry wins on lookup. */
export type Environment = readonly EnvEntry[];

/**
 * What the expander accepts as its environment: an ordered {@link Environment}, a `Map`,
 * or a plain record (own properties only; `constructor` and friends are never found).
 */
export type EnvSource = Environment | ReadonlyMap<string, string> | Readonly<Record<string, string>>;

/** How keys compare. */
export interface EnvOptions {
  /** Compare names ignoring case, as Windows does. Default false (Linux). */
  readonly caseInsensitive?: boolean;
}

/** Whether two variable names denote the same variable. */
export function envKeysEqual(a: string, b: string, opts: EnvOptions = {}): boolean {
  return opts.caseInsensitive ? a.toUpperCase() === b.toUpperCase() : a === b;
}

/** Parse one `KEY=VALUE` string. A string without `=` is a set-but-empty variable (BuildKit's BuildEnvs). */
export function parseEnvEntry(text: string): EnvEntry {
  const eq = text.indexOf("=");
  return eq < 0 ? { key: text, value: "" } : { key: text.slice(0, eq), value: text.slice(eq + 1) };
}

/** Parse a `KEY=VALUE` list, keeping its order and any repeated keys. */
export function parseEnvList(list: readonly string[]): Environment {
  return list.map(parseEnvEntry);
}

/** The `KEY=VALUE` strings of an environment, in order (the image config's `Env`). */
export function formatEnvList(env: Environment): string[] {
  return env.map((e) => `${e.key}=${e.value}`);
}

function isEnvironment(env: EnvSource): env is Environment {
  return Array.isArray(env);
}

function isMap(env: EnvSource): env is ReadonlyMap<string, string> {
  return env instanceof Map;
}

/** The value of `name`, or `undefined` when it is unset. With repeated keys the last one wins. */
export function lookupEnv(env: EnvSource, name: string, opts: EnvOptions = {}): string | undefined {
  if (isEnvironment(env)) {
    for (let i = env.length - 1; i >= 0; i--) {
      const e = env[i]!;
      if (envKeysEqual(e.key, name, opts)) return e.value;
    }
    return undefined;
  }
  if (isMap(env)) {
    if (!opts.caseInsensitive) return env.get(name);
    let found: string | undefined;
    for (const [k, v] of env) if (envKeysEqual(k, name, opts)) found = v;
    return found;
  }
  const rec = env as Readonly<Record<string, string>>;
  if (!opts.caseInsensitive) return Object.hasOwn(rec, name) ? rec[name] : undefined;
  let found: string | undefined;
  for (const k of Object.keys(rec)) if (envKeysEqual(k, name, opts)) found = rec[k];
  return found;
}

/** Whether `name` is set (possibly to the empty string). */
export function hasEnv(env: EnvSource, name: string, opts: EnvOptions = {}): boolean {
  return lookupEnv(env, name, opts) !== undefined;
}

/**
 * Set `key` to `value`. An existing entry is replaced where it stands (its later duplicates
 * dropped), so the order of first definition is kept, as Docker updates a config's `Env`;
 * a new key is appended. Returns a new list.
 */
export function setEnv(env: Environment, key: string, value: string, opts: EnvOptions = {}): Environment {
  const out: EnvEntry[] = [];
  let placed = false;
  for (const e of env) {
    if (!envKeysEqual(e.key, key, opts)) out.push(e);
    else if (!placed) {
      out.push({ key, value });
      placed = true;
    }
  }
  if (!placed) out.push({ key, value });
  return out;
}

/** `env` without `key`. Returns a new list. */
export function removeEnv(env: Environment, key: string, opts: EnvOptions = {}): Environment {
  return env.filter((e) => !envKeysEqual(e.key, key, opts));
}

/** Layer `overlay` on `base`: each overlay entry is applied with {@link setEnv}, in order. */
export function mergeEnv(base: Environment, overlay: Environment, opts: EnvOptions = {}): Environment {
  let out = base;
  for (const e of overlay) out = setEnv(out, e.key, e.value, opts);
  return out;
}

/** The distinct keys, in order of first appearance. */
export function envKeys(env: Environment, opts: EnvOptions = {}): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of env) {
    const norm = opts.caseInsensitive ? e.key.toUpperCase() : e.key;
    if (seen.has(norm)) continue;
    seen.add(norm);
    out.push(e.key);
  }
  return out;
}

/** The environment as a `Map` (later entries win). */
export function envToMap(env: Environment): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env) m.set(e.key, e.value);
  return m;
}
