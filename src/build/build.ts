// build/build.ts: one `tbuild build`, start to finish: check the inputs, open the store and
// the context, replay the build when nothing changed since it was recorded (fast-path.ts),
// else plan, (dry run: look keys up and stop), solve, write the image config, manifest and
// tags into the store, remember the plan so the next build can explain its first cache
// miss, and record the build for the fast path. Progress goes to the sink; nothing is
// printed here.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { TbuildError, type Digest } from "../util/index.js";
import { buildConfig, formatPlatform, formatReference, ociArchitecture, parsePlatform, parseReference, type ContainerConfig, type HistoryEntry, type Platform } from "../image/index.js";
import { openContext } from "../context/index.js";
import type { RuntimeName } from "../exec/index.js";
import type { ParseResult } from "../dockerfile/index.js";
import type { Plan, StepRecord } from "../plan/index.js";
import { Store } from "../store/index.js";
import type { CacheSpec, Env } from "../registry/index.js";
import { planDigest, type PlanRecord } from "./cache-index.js";
import { openBuildCache } from "./remote-cache.js";
import type { ProgressSink, StepInfo } from "./progress.js";
import type { SecretSource } from "./run.js";
import { cleanStaleBuildState } from "./cleanup.js";
import { RecordingCache, fingerprint, planWarnings, recordBuild, replayUnchanged, type FastPathInputs } from "./fast-path.js";

export interface BuildOptions {
  /** The store folder. */
  readonly root: string;
  /** The context directory (absolute). */
  readonly contextDir: string;
  /** The Dockerfile's absolute path (default `<context>/Dockerfile`); ignored for `dockerfileText`. */
  readonly dockerfile?: string;
  /** The Dockerfile's text, when the caller has read it (from the file, or stdin: see `dockerfileFromStdin`). */
  readonly dockerfileText?: string;
  /**
   * The parse of `dockerfileText` (file `displayName`) when the caller already has it (the
   * build's lint checks): the planner uses it instead of parsing the text again.
   */
  readonly dockerfileParsed?: ParseResult;
  /** The text came from stdin (`-f -`): the plan record is then keyed by the context, not a path. */
  readonly dockerfileFromStdin?: boolean;
  /** How locations name the Dockerfile in errors and progress (`Dockerfile`, `app/Dockerfile`). */
  readonly displayName: string;
  readonly tags: readonly string[];
  readonly buildArgs: readonly string[];
  /** Where a bare `--build-arg K` takes its value, and the registry credentials' environment. */
  readonly environ: Env;
  readonly target?: string;
  readonly noCache?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  readonly platform?: string;
  readonly dryRun?: boolean;
  readonly secrets?: readonly SecretSource[];
  readonly runtime?: RuntimeName | "auto";
  /** SOURCE_DATE_EPOCH (seconds): layer times clamped, history and image `created` set to it. */
  readonly sourceDateEpoch?: number;
  readonly progress: ProgressSink;
  readonly signal: AbortSignal;
  /** Called with the Dockerfile text as soon as it is read, so error frames can show it. */
  readonly registerSource?: (file: string, text: string) => void;
  /** `--pull`: ask the registry for a newer base image even when the store has it. */
  readonly pull?: boolean;
  /** --tls-verify: as RegistryClientOptions.tlsVerify (undefined: not given). */
  readonly tlsVerify?: boolean;
  /** `--cache-from`: caches looked up after the store's own (remote-cache.ts). */
  readonly cacheFrom?: readonly CacheSpec[];
  /** One line per remote-cache action or problem. */
  readonly onRemote?: (line: string) => void;
  /**
   * Allow the no-change fast path (fast-path.ts): `version` is the tool's, part of the
   * fingerprint. Callers leave it out when they need the plan afterwards (cache export,
   * push). Never used with noCache, pull, dryRun, secrets or cacheFrom.
   */
  readonly fastPath?: { readonly version: string; /** Tests only: RACY_WINDOW_MS otherwise. */ readonly racyWindowMs?: number };
}

/** A dry run's verdict for one visible step. */
export interface DryRunStep {
  readonly info: StepInfo;
  readonly key: Digest;
  readonly status: "cached" | "miss" | "base";
  readonly explanation?: string;
  readonly summary: string;
}

export interface BuildResult {
  /** Undefined when the build was replayed by the no-change fast path. */
  readonly plan?: Plan;
  /** The parsed Dockerfile the plan came from (undefined when replayed), for the lint checks after. */
  readonly parsed?: ParseResult;
  /** The no-change fast path replayed a recorded build (nothing was planned or solved). */
  readonly replayed?: boolean;
  readonly imageId?: Digest;
  readonly manifestDigest?: Digest;
  readonly tags: readonly string[];
  readonly dryRun?: readonly DryRunStep[];
  readonly cachedSteps: number;
  readonly totalSteps: number;
}

/** The platform tbuild builds for: this machine's. */
export function hostPlatform(): Platform {
  return { os: "linux", architecture: ociArchitecture(process.arch) };
}

/** Normalise `-t` values up front, so a bad tag fails before any work. */
export function normaliseTags(tags: readonly string[]): string[] {
  return tags.map((t) => {
    const r = parseReference(t);
    if (r.digest !== undefined) throw new TbuildError("E_REF_INVALID", `invalid tag ${JSON.stringify(t)}: a tag cannot contain a digest`, { hint: "write NAME[:TAG], e.g. -t app:1.0" });
    return formatReference(r);
  });
}

export async function buildImage(o: BuildOptions): Promise<BuildResult> {
  const t0 = Date.now();
  const tags = normaliseTags(o.tags);
  const platform = hostPlatform();
  if (o.platform !== undefined && o.platform !== "") {
    const want = parsePlatform(o.platform);
    if (want.os !== platform.os || want.architecture !== platform.architecture) {
      throw new TbuildError("E_PLAN_PLATFORM", `platform ${o.platform} is not supported: tbuild builds for this machine (${formatPlatform(platform)}) only`, { hint: `drop --platform or pass --platform ${formatPlatform(platform)}` });
    }
  }
  const st = await stat(o.contextDir).catch(() => undefined);
  if (!st) throw new TbuildError("E_CONTEXT_NOT_FOUND", `build context ${o.contextDir} does not exist`, { hint: "pass the project folder, e.g. tbuild -t app ." });
  if (!st.isDirectory()) throw new TbuildError("E_CONTEXT_NOT_FOUND", `build context ${o.contextDir} is not a directory`, { hint: "the context is a folder; name the Dockerfile with -f" });
  const dockerfilePath = o.dockerfile ?? join(o.contextDir, "Dockerfile");
  const fromStdin = o.dockerfileFromStdin === true || (o.dockerfileText !== undefined && o.dockerfile === undefined);
  if (o.dockerfileText === undefined) {
    const df = await stat(dockerfilePath).catch(() => undefined);
    if (!df?.isFile()) throw new TbuildError("E_CONTEXT_NOT_FOUND", `cannot read Dockerfile: ${o.displayName}: ${df ? "not a file" : "no such file"}`, { hint: "pass -f with the Dockerfile's path" });
  }

  const store = await Store.open(o.root);
  // A killed build leaves overlay mounts and scratch folders: clear them first (best effort).
  if (!o.dryRun) await cleanStaleBuildState(store.dataDir).catch(() => undefined);
  const remote = { env: o.environ, signal: o.signal, ...(o.tlsVerify !== undefined ? { tlsVerify: o.tlsVerify } : {}), ...(o.onRemote ? { log: o.onRemote } : {}) };
  const cache = await openBuildCache(store, o.cacheFrom ?? [], { ...remote, fetch: !o.dryRun });
  const walkStart = Date.now();
  const context = await openContext(o.contextDir, { dockerfile: dockerfilePath, cacheDir: join(store.dataDir, "file-hashes"), signal: o.signal });
  try {
    const text = o.dockerfileText ?? (await context.readDockerfile());
    o.registerSource?.(o.displayName, text);
    const planId = { file: fromStdin ? `${o.contextDir}\0stdin` : dockerfilePath, target: o.target ?? "" };
    const fast = fastPathEligible(o) ? fastPathInputs(o, tags, platform, planId.file, text) : undefined;
    const fp = fast && fingerprint(fast, context, walkStart, o.fastPath?.racyWindowMs);
    if (fast && fp) {
      const r = await replayUnchanged(store, cache, fast, fp.digest, o.progress, t0);
      if (r) return { replayed: true, imageId: r.imageId, manifestDigest: r.manifestDigest, tags: r.tags, cachedSteps: r.cached, totalSteps: r.total };
    }
    // Loaded only now: a replayed build never plans or solves (the planner alone is ~30 modules).
    const [{ parseDockerfile }, { explainPlan, keyEnvsToStore, planParsed }, { ContextHasher, StoreImageResolver }, { Solver, describeSteps, oneLine }] = await Promise.all([import("../dockerfile/index.js"), import("../plan/index.js"), import("./ports.js"), import("./solve.js")]);
    const hasher = new ContextHasher(context);
    const resolver = new StoreImageResolver(store, { pull: !o.dryRun, always: o.pull === true, ...(o.tlsVerify !== undefined ? { tlsVerify: o.tlsVerify } : {}), env: o.environ, signal: o.signal, log: (line) => o.progress({ type: "warning", time: Date.now(), message: line }) });
    // Parsed once: the lint checks before and after the build share this tree.
    const parsed = o.dockerfileText !== undefined && o.dockerfileParsed ? o.dockerfileParsed : parseDockerfile(text, { file: o.displayName });
    const plan = await planParsed(parsed, {
      buildArgs: o.buildArgs,
      environ: o.environ,
      ...(o.target !== undefined ? { target: o.target } : {}),
      platform,
      resolver,
      hasher,
    });
    const infos = describeSteps(plan);
    o.progress({ type: "plan", time: Date.now(), steps: [...infos.values()], target: plan.target, stages: plan.stages.length });
    for (const w of planWarnings(plan)) o.progress({ ...w, time: Date.now() });
    // The previous plan is read and compared only when a step misses: explanations are
    // only ever shown for a miss, and a cached rebuild skips parsing megabytes of tokens.
    let explanations: Promise<Map<string, string>> | undefined;
    const explainAll = async (): Promise<Map<string, string>> => {
      const out = new Map<string, string>();
      const previous = await cache.readPlan(planId.file, planId.target);
      if (previous) for (const x of explainPlan(previous.steps as unknown as readonly StepRecord[], plan)) out.set(`${x.stage}/${x.index}`, `${oneLine(x.text)}: ${x.changes.join("; ")}`);
      return out;
    };
    const explain = async (stage: number, index: number): Promise<string | undefined> => (await (explanations ??= explainAll())).get(`${stage}/${index}`);

    if (o.dryRun) {
      const out: DryRunStep[] = [];
      for (const s of plan.stages.flatMap((x) => x.steps)) {
        const info = infos.get(`${s.stage}/${s.index}`);
        if (!info) continue;
        const status = !s.layer ? "base" : !o.noCache && (await cache.lookup(s.key)) ? "cached" : "miss";
        const why = status === "miss" ? await explain(s.stage, s.index) : undefined;
        out.push({ info, key: s.key, status, summary: s.summary, ...(why ? { explanation: why } : {}) });
      }
      return { plan, parsed, tags, dryRun: out, cachedSteps: out.filter((x) => x.status === "cached").length, totalSteps: out.filter((x) => x.status !== "base").length };
    }

    const secrets = new Map((o.secrets ?? []).map((s) => [s.id, s]));
    const used = new RecordingCache(cache);
    const solver = new Solver({
      plan,
      infos,
      store,
      cache: used,
      context,
      hasher,
      resolver,
      noCache: o.noCache ?? false,
      runtime: async () => (await import("../exec/index.js")).selectRuntime(o.runtime ?? "auto", o.environ.PATH ?? undefined),
      ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
      secrets,
      explain,
      progress: o.progress,
      signal: o.signal,
    });
    // Layers the solver will take from imported caches download side by side, not step by step.
    if (!o.noCache) cache.prefetch?.(plan.stages.flatMap((st) => st.steps.filter((x) => x.layer).map((x) => x.key)));
    const result = await solver.solve();
    const target = plan.stages.find((s) => s.index === plan.target)!;
    let config: ContainerConfig = target.config;
    if (o.labels && Object.keys(o.labels).length > 0) config = { ...config, Labels: { ...(config.Labels ?? {}), ...o.labels } };
    const author = (target as { author?: string }).author;
    const epochIso = o.sourceDateEpoch !== undefined ? new Date(o.sourceDateEpoch * 1000).toISOString() : undefined;
    const created = epochIso ?? result.created;
    const diffIds = result.layers.map((l) => l.diffId);
    const history: HistoryEntry[] | undefined = result.history.filter((h) => !h.empty_layer).length === diffIds.length ? [...result.history] : undefined;
    const encoded = buildConfig({
      platform,
      ...(created !== undefined ? { created } : {}),
      ...(author !== undefined ? { author } : {}),
      config,
      diffIds,
      ...(history ? { history } : {}),
    });
    o.progress({ type: "export", time: Date.now(), phase: "config", detail: encoded.descriptor.digest });
    // A pulled base's layers stay as the gzip blobs the store holds them as.
    const put = await store.putImage({ config: encoded, layers: result.layers, tags });
    o.progress({ type: "export", time: Date.now(), phase: "manifest", detail: put.manifestDigest });
    for (const t of put.tags) o.progress({ type: "export", time: Date.now(), phase: "naming", detail: t });
    // The plan record is rewritten only when its digest (every field but the per-file
    // tokens, which the keys cover) differs from the stored one's.
    const steps = plan.stages.flatMap((s) => s.steps);
    const digest = planDigest(planId.file, planId.target, steps.map((s) => ({ stage: s.stage, index: s.index, text: s.text, kind: s.kind, key: s.key, summary: s.summary, preimage: s.preimage })));
    await cache.writePlan(planId.file, planId.target, digest, (): PlanRecord => {
      const keyEnvs = keyEnvsToStore(steps);
      return {
        version: 1,
        file: planId.file,
        target: planId.target,
        steps: steps.map((s, i) => ({
          stage: s.stage, index: s.index, text: s.text, kind: s.kind, key: s.key, summary: s.summary, preimage: s.preimage,
          ...(s.kind === "copy" || s.kind === "add" ? (s.files ? { files: s.files } : {}) : {}),
          ...(keyEnvs[i] ? { keyEnv: keyEnvs[i] } : {}),
        })),
      };
    });
    if (fast && fp) {
      // Best effort: a record that cannot be written only means the next build does the work.
      await recordBuild(store, cache, fast, fp, {
        plan, infos, imageId: put.imageId, manifestDigest: put.manifestDigest, tags: put.tags, layers: result.layers.map((l) => l.compressed?.digest ?? l.diffId),
        bases: resolver.images, used: used.used, planRecord: { ...planId, digest },
      }).catch(() => undefined);
    }
    const cachedSteps = solver.counts();
    o.progress({ type: "done", time: Date.now(), imageId: put.imageId, manifestDigest: put.manifestDigest, tags: put.tags, durationMs: Date.now() - t0, cached: cachedSteps.cached, total: cachedSteps.total });
    return { plan, parsed, imageId: put.imageId, manifestDigest: put.manifestDigest, tags: put.tags, cachedSteps: cachedSteps.cached, totalSteps: cachedSteps.total };
  } finally {
    await cache.settle?.();
    await context.close().catch(() => undefined);
  }
}

/** The fast path is for plain local builds: nothing it cannot see in the fingerprint may matter. */
function fastPathEligible(o: BuildOptions): boolean {
  return o.fastPath !== undefined && !o.noCache && !o.pull && !o.dryRun && (o.secrets ?? []).length === 0 && (o.cacheFrom ?? []).length === 0;
}

function fastPathInputs(o: BuildOptions, tags: readonly string[], platform: Platform, dockerfileId: string, text: string): FastPathInputs {
  return {
    version: o.fastPath!.version,
    contextDir: o.contextDir,
    dockerfileId,
    dockerfileText: text,
    displayName: o.displayName,
    target: o.target ?? "",
    tags,
    // A bare `--build-arg K` takes its value from the environment: that value counts.
    buildArgs: o.buildArgs.map((a) => (a.includes("=") ? a : ([a, o.environ[a] ?? null] as const))),
    labels: o.labels ?? {},
    platform: formatPlatform(platform),
    runtime: o.runtime ?? "auto",
    sourceDateEpoch: o.sourceDateEpoch ?? null,
  };
}

