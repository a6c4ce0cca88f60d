// build/remote-cache.ts: the build's side of `--cache-from`, `--cache-to` and `--push`.
// Imported caches (src/registry/cache.ts) stand behind the store's cache index: a key the
// store does not know is looked up in them, and a hit downloads just that step's layer
// (when the store lacks it), kept as the cache's gzip blob until something needs it plain,
// and records it locally. After a build, the steps of the final image (mode=min) or of
// every stage (mode=max) are exported with their layers.
import type { Digest } from "../util/index.js";
import { Store } from "../store/index.js";
import type { Plan, Step } from "../plan/index.js";
import type { CacheEntry, CacheSpec, Env, ExportCacheResult, ImportedCache, PushResult, TransferStore } from "../registry/index.js";
import { CacheIndex, type CacheRecord } from "./cache-index.js";

type Registry = typeof import("../registry/index.js");

/**
 * registry/ loaded on first use: a build without --cache-from, --cache-to or --push never
 * loads it (about 8 modules, 20–35 ms of a cached rebuild's start-up).
 */
function registry(): Promise<Registry> {
  return import("../registry/index.js");
}

export interface RemoteOptions {
  readonly env: Env;
  /** --tls-verify: as RegistryClientOptions.tlsVerify (undefined: not given). */
  readonly tlsVerify?: boolean;
  readonly signal?: AbortSignal;
  /** One line per remote action or problem (the CLI shows them). */
  readonly log?: (line: string) => void;
}

function clientOptions(reg: Registry, o: RemoteOptions) {
  return {
    credentials: reg.defaultCredentials(o.env),
    ...(o.tlsVerify !== undefined ? { tlsVerify: o.tlsVerify } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  };
}

/** Layers of imported caches downloaded at once ahead of the solver (prefetch). */
const PREFETCH_CONCURRENCY = 3;

/** The store's cache index with imported caches behind it. */
class RemoteCacheIndex extends CacheIndex {
  /** Steps whose record came from an imported cache. */
  remoteHits = 0;
  private prefetching: Promise<unknown> | undefined;
  private prefetchStopped = false;
  private readonly transfer: TransferStore;

  /** `fetch: false` (dry run): a remote record is a hit, and nothing is downloaded. */
  constructor(store: Store, private readonly remotes: readonly ImportedCache[], private readonly fetch: boolean, private readonly reg: Registry, private readonly log?: (line: string) => void) {
    super(store);
    this.transfer = reg.storeTransfer(store);
  }

  /**
   * Start downloading, a few at a time, the layers of `keys` (a plan's layer steps, in
   * order) that only an imported cache has, so the solver's lookups find them downloaded
   * or under way instead of fetching one step's layer after another. These are exactly the
   * layers the lookups would fetch: a key is looked up when the solver reaches its step,
   * and a changed input changes the key, so a step that will miss is not in any cache.
   * A failed download is left to that lookup: one that comes after it tries again and
   * reports it; one that joins it while it runs shares its failure, and the step is rebuilt.
   */
  prefetch(keys: readonly Digest[]): void {
    if (!this.fetch || this.remotes.length === 0) return;
    this.prefetching = this.reg.mapLimit(keys, PREFETCH_CONCURRENCY, async (key) => {
      if (this.prefetchStopped || (await super.lookup(key))) return;
      const found = this.remoteEntry(key);
      await found?.remote.fetchLayer(this.transfer, found.entry.layer.diffId).catch(() => undefined);
    });
    this.prefetching.catch(() => undefined); // settle() waits for it; a failed lookup here is the solver's to meet again
  }

  /** Start no more prefetches and wait for those under way (the build is over, or failed). */
  async settle(): Promise<void> {
    this.prefetchStopped = true;
    await this.prefetching?.catch(() => undefined);
  }

  private remoteEntry(key: Digest): { remote: ImportedCache; entry: CacheEntry } | undefined {
    for (const remote of this.remotes) {
      const entry = remote.get(key);
      if (entry) return { remote, entry };
    }
    return undefined;
  }

  override async lookup(key: Digest): Promise<CacheRecord | undefined> {
    const local = await super.lookup(key);
    if (local) return local;
    for (const remote of this.remotes) {
      const e = remote.get(key);
      if (!e) continue;
      let rec: CacheRecord = { version: 1, key, kind: e.kind, text: e.text, layer: e.layer, created: e.created, preimage: e.preimage };
      if (!this.fetch) return rec;
      try {
        const held = await remote.fetchLayer(this.transfer, e.layer.diffId);
        if (held.compressed) rec = { ...rec, compressed: held.compressed };
      } catch (err) {
        this.log?.(`cache ${remote.backend.name}: cannot fetch the layer of ${e.text}: ${(err as Error).message}`);
        continue;
      }
      await this.put(rec);
      this.remoteHits++;
      return rec;
    }
    return undefined;
  }
}

/** The cache index a build uses; with imported caches behind it, it can fetch their layers ahead of the lookups. */
export type BuildCache = CacheIndex & Partial<Pick<RemoteCacheIndex, "prefetch" | "settle">>;

/**
 * The cache index a build uses: the store's own, plus every `--cache-from` that exists.
 * A cache that is missing or unreadable is reported through `log` and skipped (BuildKit
 * warns and builds on).
 */
export async function openBuildCache(store: Store, from: readonly CacheSpec[], o: RemoteOptions & { readonly fetch: boolean }): Promise<BuildCache> {
  if (from.length === 0) return new CacheIndex(store);
  const reg = await registry();
  const remotes: ImportedCache[] = [];
  for (const spec of from) {
    const backend = reg.cacheBackend(spec, clientOptions(reg, o));
    try {
      const c = await reg.importCache(backend);
      if (!c) o.log?.(`cache ${backend.name}: not found, building without it`);
      else {
        o.log?.(`cache ${backend.name}: ${c.size} records`);
        remotes.push(c);
      }
    } catch (e) {
      o.log?.(`cache ${backend.name}: cannot import it, building without it: ${(e as Error).message}`);
    }
  }
  return new RemoteCacheIndex(store, remotes, o.fetch, reg, o.log);
}

/**
 * The layer steps a cache export covers: mode=min the final image's (the target stage and
 * the stages it is FROM), mode=max every stage the build solved.
 */
function stepsToExport(plan: Plan, mode: "min" | "max"): Step[] {
  const stages = new Map(plan.stages.map((s) => [s.index, s]));
  const chosen: number[] = [];
  if (mode === "max") chosen.push(...plan.stages.map((s) => s.index));
  else {
    for (let i: number | undefined = plan.target; i !== undefined; ) {
      chosen.push(i);
      const base: Plan["stages"][number]["base"] | undefined = stages.get(i)?.base;
      i = base?.kind === "stage" ? base.stage : undefined;
    }
  }
  return chosen.flatMap((i) => stages.get(i)?.steps.filter((s) => s.layer) ?? []);
}

/** Export the build cache of `plan` (already built into the store at `root`) to `spec`. */
export async function exportBuildCache(root: string, plan: Plan, spec: CacheSpec, o: RemoteOptions): Promise<ExportCacheResult> {
  const store = await Store.open(root);
  const index = new CacheIndex(store);
  const entries: CacheEntry[] = [];
  for (const s of stepsToExport(plan, spec.mode)) {
    const r = await index.lookup(s.key);
    if (r) entries.push({ key: r.key, kind: r.kind, text: r.text, layer: r.layer, created: r.created, preimage: r.preimage });
  }
  const reg = await registry();
  const backend = reg.cacheBackend(spec, clientOptions(reg, o));
  const result = await reg.exportCache(backend, reg.storeTransfer(store), entries);
  const sent = result.layers.filter((l) => l.status === "uploaded").length;
  o.log?.(`cache ${backend.name}: exported ${result.records} records, ${sent} of ${result.layers.length} layers sent, ${result.digest}`);
  return result;
}

/** `--push`: send each tag of the built image to its registry. */
export async function pushBuiltImage(root: string, tags: readonly string[], o: RemoteOptions): Promise<PushResult[]> {
  const reg = await registry();
  const store = reg.storeTransfer(await Store.open(root));
  const out: PushResult[] = [];
  for (const tag of tags) {
    const r = await reg.pushImage(store, tag, clientOptions(reg, o));
    const sent = r.layers.filter((l) => l.status === "pushed").length;
    o.log?.(`pushed ${tag}: ${r.digest} (${sent} of ${r.layers.length} layers sent)`);
    out.push(r);
  }
  return out;
}
