// build/cache-index.ts: the build cache in the store's tbuild/ folder. One small JSON file
// per step key (`cache/v1/<aa>/<hex>.json`) holding the layer it produced and the preimage
// that was hashed, and one file per Dockerfile+target holding the last plan, so the next
// build can explain its first miss. Every write is temp + fsync + rename, so concurrent
// builds never see half a record and two writers of one key both leave a valid file.
import { createHash } from "node:crypto";
import { mkdir, open, readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { digestHex, isDigest, type Digest } from "../util/index.js";
import { writeFileAtomic, type Store } from "../store/index.js";
import type { CacheEntry } from "../registry/index.js";

/**
 * What a cache hit gives back: the layer a step produced. The same record a cache artifact
 * carries (registry's CacheEntry, a type-only import: a cached build never loads registry/),
 * versioned on disk.
 */
export interface CacheRecord extends CacheEntry {
  readonly version: 1;
  /**
   * The gzip blob the store holds the layer as, when it came from an imported cache
   * (remote-cache.ts): kept as it came and inflated only on first use, as a pulled layer.
   * Images made from this record name that blob, also once the plain tar exists.
   */
  readonly compressed?: { readonly digest: Digest; readonly size: number };
}

/** One step of a stored plan: enough to explain a miss on the next build. */
export interface PlanRecordStep {
  readonly stage: number;
  readonly index: number;
  readonly text: string;
  readonly kind: string;
  readonly key: Digest;
  readonly summary: string;
  readonly preimage: unknown;
  /** Per-file digests of a COPY's context selection. */
  readonly files?: Readonly<Record<string, Digest>>;
  /**
   * A RUN's variables (`K=V`), which its preimage holds by digest: explanations name the one
   * that changed. Kept on the first RUN of each environment only (plan's keyEnvsToStore).
   */
  readonly keyEnv?: readonly string[];
}

export interface PlanRecord {
  readonly version: 1;
  readonly file: string;
  readonly target: string;
  readonly steps: readonly PlanRecordStep[];
}

/**
 * A plan file is one header line, `tbuild-plan v1 <digest>`, then the record's JSON. The
 * digest (planDigest) lets a build see that the plan is unchanged by reading 100 bytes
 * instead of parsing megabytes of per-file tokens. Files without the header (older builds)
 * read as before and always compare as changed.
 */
const PLAN_HEADER = "tbuild-plan v1 ";
const HEADER_BYTES = PLAN_HEADER.length + 71 + 1; // "sha256:" + 64 hex + "\n"

/**
 * The digest of a plan record, without its per-file tokens and RUN variables: a step's
 * `files` are a function of its selection's content digest and its `keyEnv` of its
 * environment digests, which its preimage holds and its key covers, so equal digests mean
 * equal records.
 */
export function planDigest(file: string, target: string, steps: readonly Omit<PlanRecordStep, "files" | "keyEnv">[]): Digest {
  const h = createHash("sha256").update(JSON.stringify([1, file, target]));
  for (const s of steps) h.update("\n").update(JSON.stringify([s.stage, s.index, s.text, s.kind, s.key, s.summary, s.preimage]));
  return `sha256:${h.digest("hex")}` as Digest;
}

/** The cache index of one store. Reads need no lock; writes are atomic renames. */
export class CacheIndex {
  private readonly dir: string;
  private readonly plans: string;

  constructor(private readonly store: Store) {
    this.dir = join(store.dataDir, "cache", "v1");
    this.plans = join(store.dataDir, "plans");
  }

  private pathOf(key: Digest): string {
    const hex = digestHex(key);
    return join(this.dir, hex.slice(0, 2), `${hex}.json`);
  }

  /**
   * The record for `key` whose layer is still in the store (as its gzip blob, when the
   * record names one, else plain), else undefined.
   */
  async lookup(key: Digest): Promise<CacheRecord | undefined> {
    let rec: CacheRecord;
    try {
      rec = JSON.parse(await readFile(this.pathOf(key), "utf8")) as CacheRecord;
    } catch {
      return undefined; // missing, or unreadable: a miss either way
    }
    if (rec.version !== 1 || rec.key !== key || !rec.layer?.diffId) return undefined;
    const { compressed, ...plain } = rec;
    if (isBlobRef(compressed) && (await this.store.hasBlob(compressed.digest))) return rec;
    if (!(await this.store.hasBlob(rec.layer.diffId))) return undefined; // pruned since
    return plain;
  }

  /** Every record file: `cache/v1/<aa>/<hex>.json`. */
  private async recordPaths(): Promise<string[]> {
    const out: string[] = [];
    for (const aa of await readdir(this.dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(aa)) continue;
      for (const name of await readdir(join(this.dir, aa)).catch(() => [] as string[])) {
        if (name.startsWith(aa) && /^[0-9a-f]{64}\.json$/.test(name)) out.push(join(this.dir, aa, name));
      }
    }
    return out;
  }

  /**
   * What the build cache holds: the number of records, each distinct layer they point at
   * (diffId → size), and the blobs that hold those layers (plain, and the gzip blobs of
   * imported ones). `tbuild prune` keeps these blobs, as `docker image prune` keeps the
   * build cache. Unreadable records are skipped (a lookup treats them as misses too).
   */
  async layers(): Promise<{ records: number; layers: Map<Digest, number>; blobs: Set<Digest> }> {
    const layers = new Map<Digest, number>();
    const blobs = new Set<Digest>();
    let records = 0;
    for (const path of await this.recordPaths()) {
      try {
        const rec = JSON.parse(await readFile(path, "utf8")) as Partial<CacheRecord>;
        const diffId = rec.layer?.diffId;
        if (rec.version !== 1 || typeof diffId !== "string" || !isDigest(diffId)) continue;
        records++;
        layers.set(diffId, typeof rec.layer?.size === "number" ? rec.layer.size : 0);
        blobs.add(diffId);
        if (isBlobRef(rec.compressed)) blobs.add(rec.compressed.digest);
      } catch {
        // vanished or half-written by hand: not a record
      }
    }
    return { records, layers, blobs };
  }

  /**
   * Remove every record (`tbuild prune -a`, like `docker builder prune -a`); their layers
   * then go with the next garbage collection unless an image uses them. File by file, so a
   * build writing a record meanwhile still finds its folder. Returns the number removed.
   */
  async clear(): Promise<number> {
    let n = 0;
    for (const path of await this.recordPaths()) {
      await rm(path, { force: true });
      n++;
    }
    return n;
  }

  /** Record a step's layer under its key. */
  async put(rec: CacheRecord): Promise<void> {
    const path = this.pathOf(rec.key);
    await mkdir(join(path, ".."), { recursive: true });
    await writeFileAtomic(this.store.tmpDir, path, `${JSON.stringify(rec)}\n`);
  }

  private planPath(file: string, target: string): string {
    const id = createHash("sha256").update(`${file}\0${target}`).digest("hex");
    return join(this.plans, `${id}.json`);
  }

  /** The plan last built from this Dockerfile and target, if any. */
  async readPlan(file: string, target: string): Promise<PlanRecord | undefined> {
    try {
      let text = await readFile(this.planPath(file, target), "utf8");
      if (text.startsWith(PLAN_HEADER)) text = text.slice(text.indexOf("\n") + 1);
      const p = JSON.parse(text) as PlanRecord;
      return p.version === 1 && p.file === file && p.target === target ? p : undefined;
    } catch {
      return undefined;
    }
  }

  /** The digest in the stored plan's header line, if the file has one. */
  async readPlanDigest(file: string, target: string): Promise<Digest | undefined> {
    let fh;
    try {
      fh = await open(this.planPath(file, target), "r");
      const buf = Buffer.alloc(HEADER_BYTES);
      const { bytesRead } = await fh.read(buf, 0, HEADER_BYTES, 0);
      const m = /^tbuild-plan v1 (sha256:[0-9a-f]{64})\n/.exec(buf.toString("latin1", 0, bytesRead));
      return m ? (m[1] as Digest) : undefined;
    } catch {
      return undefined;
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }

  /**
   * Store the plan for `file` and `target` whose planDigest is `digest`, unless the stored
   * one already has that digest. `record` is built only when the file is written.
   */
  async writePlan(file: string, target: string, digest: Digest, record: () => PlanRecord): Promise<void> {
    if ((await this.readPlanDigest(file, target)) === digest) return;
    await mkdir(this.plans, { recursive: true });
    await writeFileAtomic(this.store.tmpDir, this.planPath(file, target), `${PLAN_HEADER}${digest}\n${JSON.stringify(record())}\n`);
  }
}

/** Whether a record's `compressed` (read from disk) is a well-formed blob reference. */
function isBlobRef(v: unknown): v is { readonly digest: Digest; readonly size: number } {
  const b = v as { digest?: unknown; size?: unknown } | undefined;
  return typeof b === "object" && b !== null && typeof b.digest === "string" && isDigest(b.digest) && Number.isSafeInteger(b.size);
}
