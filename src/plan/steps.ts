// plan/steps.ts: the plan's data model. A Plan is a graph of stages; each stage is a list
// of Steps, a discriminated union on `kind` that build/ and exec/ consume. Every value in
// a step is already expanded; every step carries its cache key and the preimage hashed.
import type { Diagnostic, Digest, Range, SourceLocation } from "../util/index.js";
import type { ContainerConfig, HistoryEntry } from "../image/index.js";
import type { EnvEntry } from "../shell/index.js";
import type { Mount } from "../dockerfile/index.js";
import type { KeyPreimage } from "./keys.js";

/** Where a FROM, COPY --from or mount `from=` takes its files. */
export type StageSource =
  | { readonly kind: "scratch" }
  | { readonly kind: "stage"; readonly stage: number }
  /** `digest` is undefined when the resolver did not know the image (see Plan.diagnostics). */
  | { readonly kind: "image"; readonly ref: string; readonly digest: Digest | undefined };

/** Fields every step has. */
export interface StepBase {
  /** The Dockerfile index of the stage this step belongs to. */
  readonly stage: number;
  /** Position in the stage's step list (0 = FROM). */
  readonly index: number;
  readonly location: SourceLocation;
  /** The instruction's logical line, e.g. `RUN apt-get update` (triggers: `ONBUILD RUN …`). */
  readonly text: string;
  /** Set when the step comes from an ONBUILD trigger of the base image or stage. */
  readonly trigger?: boolean;
  /**
   * The cache key: for file-system steps (layer: true, and FROM) a digest of `preimage`;
   * for config-only steps the key of the file system they leave unchanged (the parent's).
   */
  readonly key: Digest;
  /** The canonical object hashed into `key`; null for config-only steps (they have no key of their own). */
  readonly preimage: KeyPreimage | null;
  /** A short, readable description of the step's inputs. */
  readonly summary: string;
  /** Whether the step produces a layer (RUN, COPY, ADD, WORKDIR unless it is `/`). */
  readonly layer: boolean;
  /** The history entry the step adds to the image (null for FROM). */
  readonly history: HistoryEntry | null;
  /** The image config after this step. */
  readonly config: ContainerConfig;
}

export interface FromStep extends StepBase {
  readonly kind: "from";
  readonly base: StageSource;
}

/**
 * A RUN --mount, typed and resolved: dockerfile's decoded Mount with its words expanded, the
 * target made absolute, `from` resolved to a source and the flag's range dropped.
 */
export interface RunMount extends Omit<Mount, "flag" | "from"> {
  /** Where a bind or cache mount reads from: the build context when absent. */
  readonly from?: StageSource;
  /** For a bind mount of the context: the content digest of what it selects. */
  readonly contentDigest?: Digest;
}

export interface RunStep extends StepBase {
  readonly kind: "run";
  /**
   * The full argv: shell + command text (shell form) or the JSON array (exec form). Heredocs
   * are folded in as BuildKit does: `RUN <<EOF` runs the body as the script; heredocs in a
   * longer command are appended to the text (bodies and terminators) for the shell to read.
   */
  readonly argv: readonly string[];
  readonly form: "shell" | "exec";
  /**
   * The environment to run with, in order: the image's Env, then ARG values in scope not
   * overridden by ENV, then proxy build args (present at run time, never in the key).
   */
  readonly env: readonly EnvEntry[];
  /** Which names of `env` come from ARGs (not ENV): explanations say "build arg X changed". */
  readonly argNames: readonly string[];
  /**
   * The `K=V` list the key holds by digest (RunPreimage env and args): the Env entries, then
   * the ARG values Env does not set; proxies out. Explanations diff it. (`env`, `argNames`,
   * `keyEnv`, `summary` and the history line are built on first read.)
   */
  readonly keyEnv: readonly string[];
  readonly cwd: string;
  /** USER (`""` = root / the image default). */
  readonly user: string;
  readonly mounts: readonly RunMount[];
  readonly network: "default" | "none" | "host";
  readonly security: "sandbox" | "insecure";
  /** `RUN <<EOF` whose body starts with `#!`: write `content` to `path` (mode 0755) first; argv is [path]. */
  readonly script?: { readonly path: string; readonly content: string };
}

/** One COPY/ADD source. Paths are expanded and cleaned but not resolved (context/ selects). */
export type CopySource =
  | { readonly kind: "context"; readonly path: string }
  | { readonly kind: "stage"; readonly stage: number; readonly path: string }
  | { readonly kind: "image"; readonly ref: string; readonly digest: Digest | undefined; readonly path: string }
  | { readonly kind: "heredoc"; readonly name: string; readonly content: string }
  | { readonly kind: "url"; readonly url: string }
  | { readonly kind: "git"; readonly url: string };

export interface CopyStep extends StepBase {
  readonly kind: "copy" | "add";
  readonly sources: readonly CopySource[];
  /** Absolute, resolved against WORKDIR; a trailing `/` is kept (it means "into this directory"). */
  readonly dest: string;
  /** Where the sources come from. */
  readonly from: StageSource | { readonly kind: "context" };
  readonly chown?: string;
  readonly chmod?: string;
  readonly link: boolean;
  readonly parents: boolean;
  readonly exclude: readonly string[];
  /** ADD only. */
  readonly checksum?: string;
  readonly unpack?: boolean;
  readonly keepGitDir: boolean;
  /**
   * With --link: the key of the file system after the step (the parent with this layer
   * merged on top; see MergePreimage). `key` then identifies the layer alone, independent
   * of the parent, and later steps and the stage key build on `mergedKey`.
   */
  readonly mergedKey?: Digest;
  /** For context sources: the content digest of the selection (from the SourceHasher). */
  readonly contentDigest?: Digest;
  /** Per-file digests of the selection (context-relative path → digest), for explanations. */
  readonly files?: Readonly<Record<string, Digest>>;
}

export interface WorkdirStep extends StepBase {
  readonly kind: "workdir";
  /** Absolute path, resolved against the previous WORKDIR. */
  readonly path: string;
  /** The USER in effect: the directory is created owned by it. */
  readonly user: string;
}

/** The config-only instructions: they change the image config and add an empty-layer history entry. */
export type ConfigInstruction =
  | "env" | "label" | "user" | "expose" | "volume" | "cmd" | "entrypoint" | "shell" | "stopsignal"
  | "healthcheck" | "arg" | "maintainer" | "onbuild";

export interface ConfigStep extends StepBase {
  readonly kind: "config";
  readonly instruction: ConfigInstruction;
}

export type Step = FromStep | RunStep | CopyStep | WorkdirStep | ConfigStep;

export interface PlanStage {
  /** Index of the stage in the Dockerfile (0-based; what `--from=0` means). */
  readonly index: number;
  /** `AS name` lowercased, if any. */
  readonly name?: string;
  readonly base: StageSource;
  /** `os/arch[/variant]` the stage runs on. */
  readonly platform: string;
  /** Stages this one needs finished first (FROM, COPY --from, RUN --mount from=), sorted. */
  readonly dependsOn: readonly number[];
  readonly steps: readonly Step[];
  /** The key of the stage's final file system (the last layer step's, or the base's). */
  readonly key: Digest;
  /** The final image config. */
  readonly config: ContainerConfig;
  /** The base image's (or stage's) history followed by this stage's entries. */
  readonly history: readonly HistoryEntry[];
  /** MAINTAINER's value: the image config's `author`. */
  readonly author?: string;
}

export interface Plan {
  readonly file: string;
  /** The stages needed for the target, in Dockerfile order (each after its dependencies). */
  readonly stages: readonly PlanStage[];
  /** Dockerfile index of the target stage (the last stage unless --target names another). */
  readonly target: number;
  readonly platform: string;
  /** Warnings: unused build args, unresolved base images, parse warnings. */
  readonly diagnostics: readonly Diagnostic[];
}

/** The range type re-exported for consumers. */
export type { Range };
