// build/progress.ts: the typed events the solver emits while it builds (BuildKit's
// SolveStatus: vertexes, logs, warnings). The CLI's renderers (tty, plain, json) turn them
// into output; build/ itself never prints. Every event carries a time in ms since the epoch.

/** One vertex of the build graph as the user sees it: a FROM or a file-system step. */
export interface StepInfo {
  /** 1-based, in start order of the plan (BuildKit's `#N`). */
  readonly id: number;
  /** `[stage 2/5] COPY . /app` (BuildKit's vertex name). */
  readonly name: string;
  /** Dockerfile stage index and step index within it. */
  readonly stage: number;
  readonly index: number;
  /** Dockerfile location of the instruction (file and 1-based line). */
  readonly file: string;
  readonly line: number;
}

export type BuildEvent =
  /** Planning is done: `steps` vertices will be reported. */
  | { readonly type: "plan"; readonly time: number; readonly steps: readonly StepInfo[]; readonly target: number; readonly stages: number }
  /** A step started (or was looked up). */
  | { readonly type: "step-start"; readonly time: number; readonly id: number }
  /** The step's layer came from the cache index. */
  | { readonly type: "step-cached"; readonly time: number; readonly id: number }
  /** Why the first cache miss missed (`COPY . /app: src/index.ts changed`). */
  | { readonly type: "step-explain"; readonly time: number; readonly id: number; readonly message: string }
  /** Output of a RUN (or a status line of a FROM / ADD). */
  | { readonly type: "step-log"; readonly time: number; readonly id: number; readonly stream: "stdout" | "stderr"; readonly data: string }
  | { readonly type: "step-done"; readonly time: number; readonly id: number; readonly cached: boolean; readonly durationMs: number }
  | { readonly type: "step-error"; readonly time: number; readonly id: number; readonly message: string; readonly durationMs: number }
  /** A warning (unused build arg, unresolved base image). */
  | { readonly type: "warning"; readonly time: number; readonly message: string; readonly file?: string; readonly line?: number }
  /** Export phases after the last step. */
  | { readonly type: "export"; readonly time: number; readonly phase: "manifest" | "config" | "naming"; readonly detail: string }
  | { readonly type: "done"; readonly time: number; readonly imageId: string; readonly manifestDigest: string; readonly tags: readonly string[]; readonly durationMs: number; readonly cached: number; readonly total: number };

/** Receives events in the order they happen. MUST NOT throw; MAY be slow (it is not awaited). */
export type ProgressSink = (event: BuildEvent) => void;
