// plan/args.ts: ARG scoping (BuildKit's rules). Global ARGs (before the first FROM) are
// usable in FROM lines; a stage sees a global ARG only after re-declaring it; build args
// override defaults; predefined proxy and platform ARGs; unused build args are reported.
import type { Platform } from "../image/index.js";
import type { EnvEntry, Environment } from "../shell/index.js";
import { LogSnapshots } from "./log-snapshots.js";

/** Proxy ARGs: usable without an ARG line, present in RUN's environment, never in a key or history. */
export const PROXY_ARGS: ReadonlySet<string> = new Set(
  ["HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"].flatMap((k) => [k, k.toLowerCase()]),
);

/** Platform ARGs BuildKit defines in the global scope (a stage re-declares them to use them). */
export const PLATFORM_ARGS: readonly string[] = [
  "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
];

/** Build args that are never reported as unused (BuildKit's builtin and frontend options). */
function isBuiltinArg(name: string): boolean {
  return PROXY_ARGS.has(name) || PLATFORM_ARGS.includes(name) || name.startsWith("BUILDKIT_") || name === "SOURCE_DATE_EPOCH";
}

/** The platform ARG values for a build platform and a target platform. */
export function platformArgs(build: Platform, target: Platform): Environment {
  const fmt = (p: Platform): string => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
  return [
    { key: "TARGETPLATFORM", value: fmt(target) },
    { key: "TARGETOS", value: target.os },
    { key: "TARGETARCH", value: target.architecture },
    { key: "TARGETVARIANT", value: target.variant ?? "" },
    { key: "BUILDPLATFORM", value: fmt(build) },
    { key: "BUILDOS", value: build.os },
    { key: "BUILDARCH", value: build.architecture },
    { key: "BUILDVARIANT", value: build.variant ?? "" },
  ];
}

/**
 * Turn `--build-arg` values into a map. `K=V` sets K; a bare `K` takes its value from
 * `environ` and is ignored when `environ` has no K (docker build does the same).
 */
export function parseBuildArgs(
  args: readonly string[] | Readonly<Record<string, string>>,
  environ: Readonly<Record<string, string | undefined>> = {},
): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(args)) {
    for (const [k, v] of Object.entries(args as Readonly<Record<string, string>>)) out.set(k, v);
    return out;
  }
  for (const a of args as readonly string[]) {
    const eq = a.indexOf("=");
    if (eq >= 0) out.set(a.slice(0, eq), a.slice(eq + 1));
    else {
      const v = Object.hasOwn(environ, a) ? environ[a] : undefined;
      if (v !== undefined) out.set(a, v);
    }
  }
  return out;
}

/** Build-arg bookkeeping shared by every stage of one plan. */
export class BuildArgs {
  private readonly consumed = new Set<string>();

  constructor(readonly values: ReadonlyMap<string, string>) {}

  /** The build arg's value for a declared ARG, marking it consumed. */
  take(name: string): string | undefined {
    const v = this.values.get(name);
    if (v !== undefined) this.consumed.add(name);
    return v;
  }

  private proxyList: Environment | undefined;

  /** Proxy build args given on the command line, in a stable order (RUN env only; worked out once, every RUN reads it). */
  proxies(): Environment {
    return (this.proxyList ??= [...this.values].filter(([k]) => PROXY_ARGS.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, value]) => ({ key, value })));
  }

  /** Build args given but consumed by no ARG of the global scope or a planned stage. */
  unused(): string[] {
    return [...this.values.keys()].filter((k) => !this.consumed.has(k) && !isBuiltinArg(k)).sort();
  }
}

/** One declared ARG in a scope: `value` undefined when declared without a value. */
export interface ArgValue {
  readonly key: string;
  readonly value: string | undefined;
}

/**
 * The ARGs of one scope (the global one or a stage), in declaration order. Redeclaring an
 * ARG replaces its value where it stands. Every operation is O(1) (amortised): a
 * Dockerfile with thousands of ARG lines must not cost thousands of rebuilt lists (the
 * fuzzer's quadratic-planner finding). Steps keep a {@link ArgScope.snapshot}, which
 * replays the declarations only when read.
 */
export class ArgScope {
  private readonly list: ArgValue[] = [];
  /** key → its position in `list`. */
  private readonly pos = new Map<string, number>();
  /** key → value, for the ARGs that have one (live: {@link ArgScope.values}). */
  private readonly vals = new Map<string, string>();
  /** Every declaration in order: a snapshot is a length of this log (see snapshot()). */
  private readonly log: ArgValue[] = [];
  /** Made on the first snapshot: most scopes are never snapshotted (see StageEnv.snapshot). */
  private snapshots: LogSnapshots<readonly ArgValue[]> | undefined;

  constructor(private readonly global?: ArgScope) {}

  /**
   * Declare `ARG key[=defaultValue]` (default already expanded). Value: the build arg, else
   * the default, else (in a stage) the global ARG's value, else none.
   */
  declare(key: string, defaultValue: string | undefined, buildArgs: BuildArgs): ArgValue {
    const fromBuild = buildArgs.take(key);
    let value = fromBuild ?? defaultValue;
    if (value === undefined && this.global) value = this.global.get(key);
    return this.put({ key, value });
  }

  /** Define a value directly (the predefined platform ARGs of the global scope). */
  define(env: Environment): void {
    for (const e of env) this.put({ key: e.key, value: e.value });
  }

  private put(entry: ArgValue): ArgValue {
    const i = this.pos.get(entry.key);
    if (i !== undefined) this.list[i] = entry;
    else {
      this.pos.set(entry.key, this.list.length);
      this.list.push(entry);
    }
    if (entry.value === undefined) this.vals.delete(entry.key);
    else this.vals.set(entry.key, entry.value);
    this.log.push(entry);
    return entry;
  }

  /** The ARG's place in declaration order (it keeps it when redeclared). */
  position(key: string): number | undefined {
    return this.pos.get(key);
  }

  get(key: string): string | undefined {
    return this.vals.get(key);
  }

  /** All declared ARGs (with or without value), in order. */
  declared(): readonly ArgValue[] {
    return this.list;
  }

  /**
   * The ARGs that have a value, as a map for word expansion. The map is live: it changes
   * with the next declaration, so read it before declaring (an instruction's words all see
   * the scope from before it).
   */
  values(): ReadonlyMap<string, string> {
    return this.vals;
  }

  /**
   * The declared ARGs as they stand now, read later: O(1) to take, O(declarations so far)
   * on the first read, shared by every snapshot taken between the same two declarations.
   */
  snapshot(): () => readonly ArgValue[] {
    this.snapshots ??= new LogSnapshots((n) => this.replay(n));
    return this.snapshots.at(this.log.length);
  }

  /** The declared list after the first `n` declarations (a redeclaration keeps its place). */
  private replay(n: number): readonly ArgValue[] {
    const m = new Map<string, ArgValue>();
    for (let i = 0; i < n; i++) m.set(this.log[i]!.key, this.log[i]!);
    return [...m.values()];
  }
}

/**
 * RUN's environment: the image Env, then ARG values not set by ENV (BuildKit appends build
 * args the image env does not override), then proxies (run time only) not already set.
 * Linear in the sizes of its inputs (key sets, not a list scan per ARG).
 */
export function runEnv(args: Environment, env: Environment, proxies: Environment): { keyed: Environment; full: Environment } {
  const envKeys = new Set(env.map((e) => e.key));
  const keyed: Environment = [...env, ...args.filter((a) => !PROXY_ARGS.has(a.key) && !envKeys.has(a.key))];
  const runProxies = [...args.filter((a) => PROXY_ARGS.has(a.key)), ...proxies];
  const fullKeys = new Set(keyed.map((e) => e.key));
  const added: EnvEntry[] = [];
  for (const p of runProxies) {
    if (fullKeys.has(p.key)) continue;
    fullKeys.add(p.key);
    added.push(p);
  }
  return { keyed, full: added.length ? [...keyed, ...added] : keyed };
}
