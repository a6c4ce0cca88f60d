// build/solve.ts: the solver (BuildKit's). Walks the plan's stages as a DAG, every stage
// started at once and each waiting only for the stages it reads (FROM <stage>, COPY
// --from); per step: key → cache lookup → execute (COPY/ADD/WORKDIR entries, RUN in the
// sandbox) → layer streamed into the store → cache record → history. Reports progress
// events and never prints.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { TbuildError, withLocation, type Digest } from "../util/index.js";
import { compressedBlob, isCompressedLayer, type CompressedBlob, type HistoryEntry } from "../image/index.js";
import type { BuildContext } from "../context/index.js";
import type { PreparedRootfs, Runtime, Snapshotter } from "../exec/index.js";
import type { CopyStep, Plan, PlanStage, RunStep, StageSource, Step, WorkdirStep } from "../plan/index.js";
import type { Store } from "../store/index.js";
import type { CacheIndex } from "./cache-index.js";
import { streamLayerToStore, writeEntriesLayer, type LayerEntry } from "./entries-layer.js";
import { ContextHasher, type StoreImageResolver } from "./ports.js";
import type { BuildEvent, ProgressSink, StepInfo } from "./progress.js";
import type { SecretSource } from "./run.js";
import type { LayerView } from "./layer-view.js";
import { HostRootView, type RootView } from "./root-view.js";
import { resolveUser } from "./users.js";

/** A layer of a stage's file system: plain tar (diff ID), or held compressed (a pulled base's layer). */
export interface SolvedLayer {
  readonly diffId: Digest;
  /** Plain size in bytes. */
  readonly size: number;
  /** The compressed blob (gzip, or zstd as its media type says) the store holds the layer as, when it is not (only) plain. */
  readonly compressed?: CompressedBlob;
}

/** What a finished stage leaves: its full layer chain and its history with times filled. */
export interface StageResult {
  readonly layers: readonly SolvedLayer[];
  readonly history: readonly HistoryEntry[];
  /** The newest layer's creation time (RFC 3339), if any. */
  readonly created: string | undefined;
  readonly cachedSteps: number;
  readonly totalSteps: number;
}

export interface SolveOptions {
  readonly plan: Plan;
  /** The plan's visible steps, as `describeSteps` numbers them (the caller has announced them). */
  readonly infos: ReadonlyMap<string, StepInfo>;
  readonly store: Store;
  /** Only lookups and puts: the build passes the store's index, noting what was used (fast-path.ts). */
  readonly cache: Pick<CacheIndex, "lookup" | "put">;
  readonly context: BuildContext;
  readonly hasher: ContextHasher;
  readonly resolver: StoreImageResolver;
  readonly noCache: boolean;
  /** The RUN sandbox, chosen on first use. */
  readonly runtime: () => Promise<Runtime>;
  readonly sourceDateEpoch?: number;
  readonly secrets: ReadonlyMap<string, SecretSource>;
  /** Why the step `stage/index` missed, if the previous build says (asked only on a miss). */
  readonly explain: (stage: number, index: number) => Promise<string | undefined>;
  readonly progress: ProgressSink;
  readonly signal: AbortSignal;
  /** Wall clock in ms (injectable). */
  readonly now?: () => number;
}

/** Give every visible step (FROM of an image or stage, and layer steps) its `#N` and name. */
export function describeSteps(plan: Plan): Map<string, StepInfo> {
  const out = new Map<string, StepInfo>();
  let id = 0;
  const multi = plan.stages.length > 1;
  for (const st of plan.stages) {
    const visible = st.steps.filter((s) => isVisible(s));
    visible.forEach((s, i) => {
      const label = multi ? `${st.name ?? `stage-${st.index}`} ` : "";
      out.set(`${s.stage}/${s.index}`, {
        id: ++id,
        name: `[${label}${i + 1}/${visible.length}] ${oneLine(s.trigger ? `ONBUILD ${s.text}` : s.text)}`,
        stage: s.stage,
        index: s.index,
        file: s.location.file,
        line: s.location.range.start.line,
      });
    });
  }
  return out;
}

function isVisible(s: Step): boolean {
  return s.layer || (s.kind === "from" && s.base.kind !== "scratch");
}

/** An instruction's text on one line (continuations and runs of space folded), at most 200 characters. */
export function oneLine(text: string): string {
  const t = text.replace(/\\\r?\n/g, " ").replace(/\s+/g, " ").trim();
  return t.length > 200 ? `${t.slice(0, 197)}...` : t;
}

export class Solver {
  private readonly stages = new Map<number, Promise<StageResult>>();
  private readonly rootfs = new Map<string, Promise<PreparedRootfs>>();
  private readonly views = new Map<string, LayerView | undefined>();
  private snapshots: Promise<Snapshotter> | undefined;
  private readonly infos: ReadonlyMap<string, StepInfo>;
  private readonly now: () => number;
  private readonly abort = new AbortController();
  private runtimeCache: Runtime | undefined;
  private cachedCount = 0;
  private totalCount = 0;
  readonly scratch: string;

  constructor(private readonly o: SolveOptions) {
    this.infos = o.infos;
    this.now = o.now ?? Date.now;
    this.scratch = join(o.store.dataDir, "scratch");
    if (o.signal.aborted) this.abort.abort(o.signal.reason);
    else o.signal.addEventListener("abort", () => this.abort.abort(o.signal.reason), { once: true });
  }

  /** Layer steps of every stage solved so far, and how many came from the cache. */
  counts(): { cached: number; total: number } {
    return { cached: this.cachedCount, total: this.totalCount };
  }

  private emit(e: BuildEvent): void {
    this.o.progress(e);
  }

  /** Solve every stage of the plan concurrently; resolve with the target's result. */
  async solve(): Promise<StageResult> {
    const all = this.o.plan.stages.map((s) => this.stage(s.index));
    try {
      await Promise.all(all);
    } catch (e) {
      this.abort.abort(e);
      await Promise.allSettled(all);
      throw e;
    }
    return this.stage(this.o.plan.target);
  }

  private planStage(index: number): PlanStage {
    const s = this.o.plan.stages.find((x) => x.index === index);
    if (!s) throw new TbuildError("E_INTERNAL", `stage #${index} is not in the plan`);
    return s;
  }

  stage(index: number): Promise<StageResult> {
    let p = this.stages.get(index);
    if (!p) {
      p = this.solveStage(this.planStage(index));
      p.catch(() => undefined); // observed by solve()
      this.stages.set(index, p);
    }
    return p;
  }

  /** The (cached) merged rootfs of a layer chain. */
  prepare(layers: readonly SolvedLayer[]): Promise<PreparedRootfs> {
    const key = layers.map((l) => l.diffId).join(",");
    let p = this.rootfs.get(key);
    if (!p) {
      // exec/ is loaded on first use: a fully cached build never needs it.
      this.snapshots ??= import("../exec/index.js").then((x) => new x.Snapshotter(join(this.o.store.dataDir, "snapshots")));
      p = Promise.all([this.snapshots, this.plainPaths(layers)]).then(([s, paths]) => s.prepareRootfs(layers.map((l, i) => ({ diffId: l.diffId, path: paths[i]! })), { signal: this.abort.signal }));
      this.rootfs.set(key, p);
      p.catch(() => this.rootfs.delete(key));
    }
    return p;
  }

  /**
   * A layer chain as a RootView for COPY, ADD and WORKDIR: read from the layer tars in
   * place (layer-view.ts) when it can be, which costs a pass over the tar headers instead
   * of unpacking a snapshot; else (`unpack`, or a chain the view cannot read) the snapshot.
   */
  async view(layers: readonly SolvedLayer[], unpack = false): Promise<RootView> {
    if (!unpack) {
      const key = layers.map((l) => l.diffId).join(",");
      if (!this.views.has(key)) {
        // Loaded on first use, as copy.ts: a fully cached build never needs them.
        const { LayerView } = await import("./layer-view.js");
        const paths = await this.plainPaths(layers);
        let v: LayerView | undefined;
        try {
          v = LayerView.open(paths, this.nowSeconds());
        } catch {
          // Unsupported (LayerViewUnsupported) or unreadable: the snapshot path decides, and
          // reports a real problem (a missing blob) the way it always has.
        }
        this.views.set(key, v);
      }
      const v = this.views.get(key);
      if (v) return v;
    }
    return new HostRootView((await this.prepare(layers)).rootfs);
  }

  /** The plain tars of `layers`, inflating a pulled layer the first time it is used (Store.plainLayer). */
  private plainPaths(layers: readonly SolvedLayer[]): Promise<string[]> {
    return Promise.all(layers.map(async (l) => (await this.o.store.plainLayer(l.diffId, l.compressed?.digest)).path));
  }

  private nowSeconds(): number {
    return Math.floor(this.o.sourceDateEpoch ?? this.now() / 1000);
  }

  /** The layers of a stage source (FROM, --from). */
  async sourceLayers(src: StageSource): Promise<{ layers: readonly SolvedLayer[]; history: readonly HistoryEntry[]; created: string | undefined }> {
    switch (src.kind) {
      case "scratch":
        return { layers: [], history: [], created: undefined };
      case "stage": {
        const r = await this.stage(src.stage);
        return { layers: r.layers, history: r.history, created: r.created };
      }
      case "image": {
        const img = this.o.resolver.images.get(src.ref);
        if (!img) throw new TbuildError("E_STORE_NOT_FOUND", `image ${src.ref} is not in the store`, { hint: "pull or import it first" });
        const layers = img.rootfs.map((l): SolvedLayer => (isCompressedLayer(l.blob.mediaType) ? { diffId: l.diffId, size: l.size, compressed: compressedBlob(l.blob) } : { diffId: l.diffId, size: l.size }));
        return { layers, history: img.config.history ?? [], created: img.config.created };
      }
    }
  }

  private isoNow(): string {
    return this.o.sourceDateEpoch !== undefined ? new Date(this.o.sourceDateEpoch * 1000).toISOString() : new Date(this.now()).toISOString();
  }

  private async solveStage(st: PlanStage): Promise<StageResult> {
    const from = st.steps[0];
    if (!from || from.kind !== "from") throw new TbuildError("E_INTERNAL", `stage #${st.index} does not start with FROM`);
    let layers: SolvedLayer[] = [];
    let history: HistoryEntry[] = [];
    let created: string | undefined;
    let cachedSteps = 0;
    let totalSteps = 0;
    for (const step of st.steps) {
      this.abort.signal.throwIfAborted();
      const info = this.infos.get(`${step.stage}/${step.index}`);
      const t0 = this.now();
      if (info) this.emit({ type: "step-start", time: t0, id: info.id });
      try {
        if (step.kind === "from") {
          const base = await this.sourceLayers(step.base);
          layers = [...base.layers];
          history = [...base.history];
          created = base.created;
          if (info) this.emit({ type: "step-done", time: this.now(), id: info.id, cached: true, durationMs: this.now() - t0 });
          continue;
        }
        if (!step.layer) {
          if (step.history) history.push(withCreated(step.history, created));
          continue;
        }
        totalSteps++;
        this.totalCount++;
        const hit = this.o.noCache ? undefined : await this.o.cache.lookup(step.key);
        let layer: SolvedLayer;
        let when: string;
        if (hit) {
          // An imported layer held as its gzip blob stays so: the image names that blob.
          layer = { diffId: hit.layer.diffId, size: hit.layer.size, ...(hit.compressed ? { compressed: hit.compressed } : {}) };
          when = this.o.sourceDateEpoch !== undefined ? this.isoNow() : hit.created;
          cachedSteps++;
          this.cachedCount++;
          if (info) this.emit({ type: "step-cached", time: this.now(), id: info.id });
        } else {
          const why = await this.o.explain(step.stage, step.index);
          if (why && info) this.emit({ type: "step-explain", time: this.now(), id: info.id, message: why });
          const made = await this.execute(step, layers, info?.id ?? 0);
          layer = made;
          when = this.isoNow();
          await this.o.cache.put({ version: 1, key: step.key, kind: step.kind, text: step.text, layer: { diffId: made.diffId, size: made.size }, created: when, preimage: step.preimage });
        }
        layers.push(layer);
        created = when;
        if (step.history) history.push(withCreated(step.history, when));
        if (info) this.emit({ type: "step-done", time: this.now(), id: info.id, cached: hit !== undefined, durationMs: this.now() - t0 });
      } catch (e) {
        const err = withLocation(e, step.location);
        if (info && !this.abort.signal.aborted) this.emit({ type: "step-error", time: this.now(), id: info.id, message: err instanceof Error ? err.message : String(err), durationMs: this.now() - t0 });
        throw err;
      }
    }
    return { layers, history, created, cachedSteps, totalSteps };
  }

  private async execute(step: Step, layers: readonly SolvedLayer[], id: number): Promise<{ diffId: Digest; size: number }> {
    const epoch = this.o.sourceDateEpoch !== undefined ? { sourceDateEpoch: this.o.sourceDateEpoch } : {};
    switch (step.kind) {
      case "copy":
      case "add":
        return this.executeCopy(step, layers, id);
      case "workdir": {
        const entries = await this.workdirEntries(step, layers);
        return streamLayerToStore(this.o.store, (out) => writeEntriesLayer(entries, out, { ...epoch, signal: this.abort.signal }));
      }
      case "run":
        return this.executeRun(step, layers, id);
      default:
        throw new TbuildError("E_INTERNAL", `step kind ${step.kind} has no layer`);
    }
  }

  private async executeCopy(step: CopyStep, layers: readonly SolvedLayer[], id: number): Promise<{ diffId: Digest; size: number }> {
    const sourceLayers = step.from.kind !== "context" ? (await this.sourceLayers(step.from)).layers : undefined;
    const contextPaths = step.sources.flatMap((s) => (s.kind === "context" ? [s.path] : []));
    const selection = this.o.hasher.selections.get(ContextHasher.requestKey({ sources: contextPaths, exclude: step.exclude, parents: step.parents }));
    await mkdir(this.scratch, { recursive: true });
    const scratch = await mkdtemp(join(this.scratch, "copy-"));
    try {
      const entriesWith = async (unpack: boolean) => {
        const parent = step.link || layers.length === 0 ? undefined : await this.view(layers, unpack);
        const source = sourceLayers ? await this.view(sourceLayers, unpack) : undefined;
        const { copyEntries } = await import("./copy.js");
        return copyEntries({
          step,
          context: this.o.context,
          ...(selection ? { selection } : {}),
          ...(parent !== undefined ? { parent } : {}),
          ...(source !== undefined ? { source } : {}),
          scratch,
          now: this.nowSeconds(),
          signal: this.abort.signal,
          log: (line) => this.emit({ type: "step-log", time: this.now(), id, stream: "stderr", data: `${line}\n` }),
        });
      };
      let entries: LayerEntry[];
      try {
        entries = await entriesWith(false);
      } catch (e) {
        // A --from too large to hold in memory, or a chain the view cannot read: unpack.
        if (!(e instanceof (await import("./layer-view.js")).LayerViewUnsupported)) throw e;
        entries = await entriesWith(true);
      }
      const epoch = this.o.sourceDateEpoch !== undefined ? { sourceDateEpoch: this.o.sourceDateEpoch } : {};
      return await streamLayerToStore(this.o.store, (out) => writeEntriesLayer(entries, out, { ...epoch, signal: this.abort.signal }));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  private async workdirEntries(step: WorkdirStep, layers: readonly SolvedLayer[]): Promise<LayerEntry[]> {
    const rootfs = layers.length === 0 ? undefined : await this.view(layers);
    const owner = await resolveUser(step.user, rootfs, "WORKDIR owner");
    const now = this.nowSeconds();
    // Like Docker / BuildKit, follow the image's own symlinks inside its root (a final link
    // to a directory included), so `WORKDIR /link` with /link -> /real uses /real and writes
    // nothing over the link; the config's WorkingDir stays as written.
    const { resolveDest } = await import("./copy.js");
    const resolved = rootfs === undefined ? step.path : await resolveDest(rootfs, step.path, true, "WORKDIR", step.path);
    const parts = resolved.split("/").filter(Boolean);
    const out: LayerEntry[] = [];
    for (let i = 1; i <= parts.length; i++) {
      const path = parts.slice(0, i).join("/");
      const st = rootfs === undefined ? undefined : await rootfs.lstat(path);
      if (st?.type === "dir") out.push({ path, type: "dir", mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtime, size: 0 });
      else if (st) throw new TbuildError("E_PLAN_INVALID", `WORKDIR ${step.path}: /${path} exists and is not a directory`);
      else out.push({ path, type: "dir", mode: 0o755, uid: i === parts.length ? owner.uid : 0, gid: i === parts.length ? owner.gid : 0, mtime: now, size: 0 });
    }
    return out;
  }

  private async executeRun(step: RunStep, layers: readonly SolvedLayer[], id: number): Promise<{ diffId: Digest; size: number }> {
    const rootfs = await this.prepare(layers);
    if (!this.runtimeCache) this.runtimeCache = await this.o.runtime();
    const { executeRun } = await import("./run.js");
    return executeRun({
      step,
      rootfs,
      runtime: this.runtimeCache,
      store: this.o.store,
      scratch: this.scratch,
      contextRoot: this.o.context.root,
      context: this.o.context,
      mountSource: async (from) => (await this.prepare((await this.sourceLayers(from)).layers)).rootfs,
      secrets: this.o.secrets,
      ...(this.o.sourceDateEpoch !== undefined ? { sourceDateEpoch: this.o.sourceDateEpoch } : {}),
      signal: this.abort.signal,
      log: (stream, data) => this.emit({ type: "step-log", time: this.now(), id, stream, data }),
    });
  }
}

function withCreated(h: HistoryEntry, created: string | undefined): HistoryEntry {
  return created === undefined ? { ...h } : { created, ...h };
}
