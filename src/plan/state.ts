// plan/state.ts: the mutable state of one stage while it is planned, and the services the
// instruction dispatchers call back into (stage lookup, image resolution, hashing).
import type { Diagnostic, Digest, SourceLocation } from "../util/index.js";
import type { ContainerConfig, HistoryEntry } from "../image/index.js";
import type { ShellOptions } from "../shell/index.js";
import type { ArgScope, BuildArgs } from "./args.js";
import type { MutableConfig } from "./config.js";
import type { SourceHasher } from "./ports.js";
import type { ConfigMaps } from "./config-maps.js";
import type { StageEnv } from "./stage-env.js";
import type { StageSource, Step } from "./steps.js";

export interface StageState {
  readonly index: number;
  readonly name: string | undefined;
  readonly file: string;
  /** Labels, ExposedPorts and Volumes are changed through `maps` only (read-only getters here once touched). */
  readonly config: MutableConfig;
  /** The change logs behind `config`'s maps: snapshots share them instead of copying (see config-maps.ts). */
  readonly maps: ConfigMaps;
  readonly args: ArgScope;
  /** The config's Env and the word-expansion map, kept in step with `config.Env` and `args`. */
  readonly vars: StageEnv;
  /** The key of the current file system (FROM, then each layer step). */
  key: Digest;
  /** CMD was set in this stage (ENTRYPOINT then keeps it, as BuildKit does). */
  cmdSet: boolean;
  author: string | undefined;
  readonly steps: Step[];
  /** The history entries this stage adds (its base's come first: see StageHistory in plan.ts). */
  readonly history: HistoryEntry[];
  readonly deps: Set<number>;
}

/** A stage or image reached through `--from` / `from=`, resolved. */
export interface ResolvedSource {
  readonly source: StageSource;
  /** What enters keys: a stage's key, an image digest, or `name:<ref>` when unresolved. */
  readonly keyPart: string;
}

export interface PlannerServices {
  readonly hasher: SourceHasher;
  readonly buildArgs: BuildArgs;
  readonly shell: ShellOptions;
  /** Resolve a COPY --from / mount from= value (already expanded) for `stage`. */
  resolveFrom(stage: StageState, value: string, location: SourceLocation): Promise<ResolvedSource>;
  warn(d: Diagnostic): void;
}

/** Freeze the stage's config into the value a step carries. */
export function snapshotConfig(st: StageState): ContainerConfig {
  return st.maps.snapshot();
}

/**
 * How the config's Env reads through `vars` once large (a module-level function: it keeps
 * `vars` only). Snapshots read it through a getter: a small Env is a plain list the config
 * holds (syncEnv), and a large one built per step is what made planning cost steps × variables.
 */
function envBinding(vars: StageEnv): () => () => readonly string[] {
  return () => vars.envReader();
}

/**
 * After an ENV: while the stage's Env is small its config holds the list itself (a new one
 * per change, shared by the step snapshots taken until the next); once large, the config
 * reads it through the StageEnv's log (see config-maps.ts), for good.
 */
export function syncEnv(st: StageState): void {
  const list = st.vars.smallEnv();
  if (list) st.config.Env = list;
  else st.maps.bindOnce("Env", envBinding(st.vars));
}
