// build/fast-path.ts: the no-change fast path. A build that changes nothing costs, at the
// least, a walk of its context; this makes it cost little more. After a build, a record
// is kept in the store's tbuild/ folder: a fingerprint of every input (the Dockerfile's
// bytes, the options, and each context entry's dev/ino/size/mtime/ctime/mode, as git's
// index does) with the image it gave and the progress a cached rebuild shows. The next
// build with the same fingerprint checks that the store still holds all of it (base
// images at the same digests, the cache records, the blobs, the tags, the plan record)
// and replays the progress instead of planning and solving. Anything else does the real
// work: a wrong fast path is far worse than a slow build.
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { canonicalJson, type Digest } from "../util/index.js";
import type { BuildContext } from "../context/index.js";
import type { Plan } from "../plan/index.js";
import { writeFileAtomic, type Store, type StoredImage } from "../store/index.js";
import type { CacheIndex, CacheRecord } from "./cache-index.js";
import type { BuildEvent, ProgressSink, StepInfo } from "./progress.js";

/**
 * Entries changed this recently before the walk are "racy": a second write within the
 * file system's timestamp granularity would leave every stat field as it was, so a build
 * that saw one is never recorded (git's racy-clean rule, with room for coarse clocks).
 */
export const RACY_WINDOW_MS = 2000;

/** Bump when the record or the fingerprint changes shape: old records then never match. */
const FORMAT = "tbuild.fast-path.v1";

/** The build's inputs other than the context's entries: anything a rebuild's result depends on. */
export interface FastPathInputs {
  /** The tool's version: another tbuild may build the same inputs differently. */
  readonly version: string;
  readonly contextDir: string;
  /** The Dockerfile's path, or a marker for stdin. */
  readonly dockerfileId: string;
  readonly dockerfileText: string;
  readonly displayName: string;
  readonly target: string;
  /** Normalised. */
  readonly tags: readonly string[];
  /** `K=V`, or `[K, value from the environment or null]` for a bare `--build-arg K`. */
  readonly buildArgs: readonly (string | readonly [string, string | null])[];
  readonly labels: Readonly<Record<string, string>>;
  readonly platform: string;
  readonly runtime: string;
  readonly sourceDateEpoch: number | null;
}

/** A step's cache record as the build used it. */
type UsedRecord = readonly [key: Digest, diffId: Digest, created: string];

/** A progress event without its time: times are the replay's own. */
type TimelessEvent = BuildEvent extends infer E ? (E extends BuildEvent ? Omit<E, "time"> : never) : never;

interface FastRecord {
  readonly format: typeof FORMAT;
  readonly fingerprint: Digest;
  readonly imageId: Digest;
  readonly manifestDigest: Digest;
  readonly tags: readonly string[];
  /** The image's layers (diff IDs), which must still be blobs. */
  readonly layers: readonly Digest[];
  /** Base images (FROM, COPY --from) by normalised reference → manifest digest. */
  readonly bases: readonly (readonly [string, Digest])[];
  readonly steps: readonly UsedRecord[];
  /** The plan record the build left (cache-index.ts), so a later miss is explained against it. */
  readonly plan: { readonly file: string; readonly target: string; readonly digest: Digest };
  readonly events: readonly TimelessEvent[];
}

/** What a replayed build returns. */
export interface Replayed {
  readonly imageId: Digest;
  readonly manifestDigest: Digest;
  readonly tags: readonly string[];
  readonly cached: number;
  readonly total: number;
}

/** The cache as the solver sees it, noting every record it used (looked up or put). */
export class RecordingCache {
  readonly used = new Map<Digest, UsedRecord>();

  constructor(private readonly cache: CacheIndex) {}

  async lookup(key: Digest): Promise<CacheRecord | undefined> {
    const rec = await this.cache.lookup(key);
    if (rec) this.used.set(key, [key, rec.layer.diffId, rec.created]);
    return rec;
  }

  async put(rec: CacheRecord): Promise<void> {
    await this.cache.put(rec);
    this.used.set(rec.key, [rec.key, rec.layer.diffId, rec.created]);
  }
}

/** The fingerprint of a build and whether it may be recorded (no racy entry, every entry stamped). */
export function fingerprint(inputs: FastPathInputs, context: BuildContext, walkStartMs: number, racyWindowMs = RACY_WINDOW_MS): { digest: Digest; recordable: boolean } {
  const h = createHash("sha256").update(`${FORMAT}\0${canonicalJson(inputs)}\0${context.ignoreFile ?? ""}\0${JSON.stringify(context.ignorePatterns)}\0`);
  const racyNs = BigInt(walkStartMs - racyWindowMs) * 1_000_000n;
  let recordable = true;
  // Paths and types as one string, stat fields in typed arrays, each hashed at once:
  // 100,000 bigint-to-string conversions cost more than the hashing (about half the time).
  const entries = context.entries;
  const stamps = new BigUint64Array(entries.length * 5);
  const modes = new Uint32Array(entries.length);
  let names = "";
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const s = e.stamp;
    names += e.linkTarget === undefined && e.devMajor === undefined ? `${e.path}\0${e.type}\n` : `${e.path}\0${e.type}\0${e.linkTarget ?? ""}\0${e.devMajor ?? ""}:${e.devMinor ?? ""}\n`;
    modes[i] = e.mode;
    if (!s) {
      recordable = false; // no stamp: zeros, and never recorded
      continue;
    }
    if (s.mtimeNs >= racyNs || s.ctimeNs >= racyNs) recordable = false;
    const k = i * 5;
    stamps[k] = s.dev;
    stamps[k + 1] = s.ino;
    stamps[k + 2] = s.size;
    stamps[k + 3] = s.mtimeNs; // wraps modulo 2^64 if before 1970: still one value per time
    stamps[k + 4] = s.ctimeNs;
  }
  h.update(names).update(modes).update(stamps);
  return { digest: `sha256:${h.digest("hex")}` as Digest, recordable };
}

/** Where the record of builds of one Dockerfile, context and target lives. */
function recordPath(store: Store, inputs: FastPathInputs): string {
  const id = createHash("sha256").update(`${inputs.contextDir}\0${inputs.dockerfileId}\0${inputs.target}`).digest("hex");
  return join(store.dataDir, "fast-path", `${id}.json`);
}

/**
 * Replay the build if its fingerprint matches the record and the store still holds what
 * the record names; undefined (do the real work) otherwise. Emits the progress a fully
 * cached build emits.
 */
export async function replayUnchanged(store: Store, cache: CacheIndex, inputs: FastPathInputs, digest: Digest, progress: ProgressSink, t0: number): Promise<Replayed | undefined> {
  let rec: FastRecord;
  try {
    rec = JSON.parse(await readFile(recordPath(store, inputs), "utf8")) as FastRecord;
  } catch {
    return undefined;
  }
  if (rec.format !== FORMAT || rec.fingerprint !== digest) return undefined;
  // Any doubt (a damaged image elsewhere in the store, a malformed record): the real build decides.
  if (!(await storeStillHolds(store, cache, rec).catch(() => false))) return undefined;
  for (const { type, ...rest } of rec.events) {
    const now = Date.now();
    // Keys in the solver's order (type, time, …): the JSON renderer prints them as they are.
    const timed = { type, time: now, ...rest } as BuildEvent;
    if (timed.type === "step-done") progress({ ...timed, durationMs: 0 });
    else if (timed.type === "done") progress({ ...timed, durationMs: now - t0 });
    else progress(timed);
  }
  const done = rec.events.find((e) => e.type === "done");
  const counts = done?.type === "done" ? { cached: done.cached, total: done.total } : { cached: 0, total: 0 };
  return { imageId: rec.imageId, manifestDigest: rec.manifestDigest, tags: rec.tags, ...counts };
}

/** Whether the base images, cache records, blobs, tags and plan record a record names are all still there, unchanged. */
async function storeStillHolds(store: Store, cache: CacheIndex, rec: FastRecord): Promise<boolean> {
  for (const [key, diffId, created] of rec.steps) {
    const now = await cache.lookup(key); // also checks the layer blob
    if (!now || now.layer.diffId !== diffId || now.created !== created) return false;
  }
  for (const d of [rec.imageId, rec.manifestDigest, ...rec.layers]) if (!(await store.hasBlob(d))) return false;
  if ((await cache.readPlanDigest(rec.plan.file, rec.plan.target)) !== rec.plan.digest) return false;
  const image = await findQuietly(store, rec.manifestDigest);
  if (!image || image.id !== rec.imageId || !rec.tags.every((t) => image.tags.includes(t))) return false;
  for (const [ref, manifest] of rec.bases) if ((await findQuietly(store, ref))?.manifestDigest !== manifest) return false;
  return true;
}

/** The store's image for a name or digest; undefined when it is missing or unreadable (the real build then finds out why). */
async function findQuietly(store: Store, nameOrId: string): Promise<StoredImage | undefined> {
  try {
    return await store.find(nameOrId);
  } catch {
    return undefined;
  }
}

/** What a finished build gives the record. */
export interface FinishedBuild {
  readonly plan: Plan;
  readonly infos: ReadonlyMap<string, StepInfo>;
  readonly imageId: Digest;
  readonly manifestDigest: Digest;
  readonly tags: readonly string[];
  readonly layers: readonly Digest[];
  readonly bases: ReadonlyMap<string, StoredImage>;
  readonly used: ReadonlyMap<Digest, UsedRecord>;
  readonly planRecord: FastRecord["plan"];
}

/**
 * Keep the record of a finished build, unless something about it could change without a
 * context file changing (a racy entry, ADD of a URL or git repository) or a cache record
 * it used was replaced meanwhile (then a rebuild would not give this image). Unchanged
 * records are not rewritten.
 */
export async function recordBuild(store: Store, cache: CacheIndex, inputs: FastPathInputs, fp: { digest: Digest; recordable: boolean }, b: FinishedBuild): Promise<void> {
  const path = recordPath(store, inputs);
  if (!fp.recordable || usesRemoteSources(b.plan)) return;
  for (const [key, diffId, created] of b.used.values()) {
    const now = await cache.lookup(key);
    if (!now || now.layer.diffId !== diffId || now.created !== created) return;
  }
  const rec: FastRecord = {
    format: FORMAT,
    fingerprint: fp.digest,
    imageId: b.imageId,
    manifestDigest: b.manifestDigest,
    tags: b.tags,
    layers: b.layers,
    bases: [...b.bases].map(([ref, img]) => [ref, img.manifestDigest] as const),
    steps: [...b.used.values()],
    plan: b.planRecord,
    events: cachedEvents(b),
  };
  const text = `${JSON.stringify(rec)}\n`;
  if ((await readFile(path, "utf8").catch(() => undefined)) === text) return;
  await mkdir(join(path, ".."), { recursive: true });
  await writeFileAtomic(store.tmpDir, path, text);
}

/** The planner's diagnostics as warning events (every build shows them after the plan). */
export function planWarnings(plan: Plan): Extract<TimelessEvent, { type: "warning" }>[] {
  return plan.diagnostics.map((d) => ({ type: "warning", message: `${d.code}: ${d.message}`, ...(d.location ? { file: d.location.file, line: d.location.range.start.line } : {}) }));
}

/** ADD of a URL or a git repository: its result can change with no local change. */
function usesRemoteSources(plan: Plan): boolean {
  return plan.stages.some((st) => st.steps.some((s) => (s.kind === "copy" || s.kind === "add") && s.sources.some((x) => x.kind === "url" || x.kind === "git")));
}

/**
 * The progress of the same build with every step cached, as the solver emits it: the plan,
 * its warnings, then per visible step start (FROM) or start, cached (layer steps), done;
 * then the export.
 */
export function cachedEvents(b: Pick<FinishedBuild, "plan" | "infos" | "imageId" | "manifestDigest" | "tags">): TimelessEvent[] {
  const { plan, infos } = b;
  const out: TimelessEvent[] = [{ type: "plan", steps: [...infos.values()], target: plan.target, stages: plan.stages.length }, ...planWarnings(plan)];
  let layerSteps = 0;
  for (const st of plan.stages) {
    for (const s of st.steps) {
      if (s.layer) layerSteps++;
      const info = infos.get(`${s.stage}/${s.index}`);
      if (!info) continue;
      out.push({ type: "step-start", id: info.id });
      if (s.kind !== "from") out.push({ type: "step-cached", id: info.id });
      out.push({ type: "step-done", id: info.id, cached: true, durationMs: 0 });
    }
  }
  out.push({ type: "export", phase: "config", detail: b.imageId }, { type: "export", phase: "manifest", detail: b.manifestDigest });
  for (const t of b.tags) out.push({ type: "export", phase: "naming", detail: t });
  out.push({ type: "done", imageId: b.imageId, manifestDigest: b.manifestDigest, tags: b.tags, durationMs: 0, cached: layerSteps, total: layerSteps });
  return out;
}
