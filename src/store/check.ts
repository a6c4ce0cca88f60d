// `tbuild store check` (fsck): verifies every blob against its digest, every image's
// manifest, config and layers (present, sizes right), every tag's target, the build cache
// index and the gzip map, and finds what killed processes left behind. With `repair` it
// removes only what is broken or orphaned and no tag needs; a broken tagged image is
// reported, never dropped (DESIGN.md: tbuild never loses a tagged image).
import { promises as fsp } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { TbuildError, isDigest, type Digest } from "../util/index.js";
import { Annotation, isIndexType, isManifestType, parseConfig, parseIndex, parseManifest, type Descriptor } from "../image/index.js";
import { blobPath } from "./blobs.js";
import { tempOwnerPid } from "./temp-file.js";
import { readIndex, updateIndex, type StorePaths } from "./layout.js";
import { mountPoints, mountsUnder, pidAlive } from "./liveness.js";
import { plainCopyNames } from "./gc.js";
import { readLayerRecord } from "./layer-records.js";
import { withLock } from "./lock.js";
import { hashFile } from "./sha256-stream.js";

/** What kind of problem a check found. */
export type CheckProblemKind =
  /** oci-layout or index.json is missing or does not parse (never repaired: it holds the tags). */
  | "layout"
  /** A file in blobs/sha256 is not named by a digest. */
  | "stray-blob-file"
  /** A blob's bytes do not hash to its name. */
  | "corrupt-blob"
  /** An image (tagged or dangling) whose manifest, config or a layer is missing, corrupt or the wrong size. */
  | "broken-image"
  /** A cache index record that is unreadable, or whose layer blob is gone or the wrong size. */
  | "cache-entry"
  /** A layer record (gzip map entry) whose gzip blob is gone, or that disagrees with the plain layer. */
  | "gzip-entry"
  /** A temporary file or staging folder left by a process that is gone. */
  | "temp"
  /** The store lock held by a process that is gone. */
  | "stale-lock";

export interface CheckProblem {
  readonly kind: CheckProblemKind;
  /** The path concerned (a blob, a record, a temp file). */
  readonly path: string;
  readonly message: string;
  /** The tags affected (broken-image only). */
  readonly tags?: readonly string[];
  /** True once `repair` removed it. */
  repaired: boolean;
  /** False when repair will not touch it (it holds a tag, or the index itself). */
  readonly repairable: boolean;
}

export interface CheckReport {
  readonly blobs: number;
  readonly blobBytes: number;
  /** Distinct manifests in index.json. */
  readonly images: number;
  readonly tags: number;
  readonly cacheEntries: number;
  /** Blobs no image, cache record or gzip entry reaches (`tbuild prune` reclaims them; not a problem). */
  readonly unreferencedBlobs: number;
  readonly unreferencedBytes: number;
  /** Temporary entries owned by live processes (a build in progress): left alone. */
  readonly inUseTemp: number;
  readonly problems: readonly CheckProblem[];
  /** Problems still present after the run (all of them without `repair`). */
  readonly remaining: number;
  readonly seconds: number;
}

export interface CheckOptions {
  /** Remove what is broken or orphaned and not needed by a tag. */
  readonly repair?: boolean;
  /** Blobs hashed at once (default: 2 × cores). */
  readonly concurrency?: number;
  /**
   * Build work folders without an owner pid (snapshot staging, COPY scratch) count as left
   * over only when older than this (default 10 min), so a build in progress is never disturbed.
   */
  readonly snapshotGraceMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Unmounts a mount point (the CLI passes src/exec's). With it, `repair` unmounts what a
   * dead build left mounted in its own work folder (an overlay of a SIGKILLed RUN) before
   * removing the folder; without it such a folder is reported and left alone.
   */
  readonly unmount?: (target: string) => Promise<void>;
}

const HEX64 = /^[a-f0-9]{64}$/;

/** Run `fn` over `items` with at most `n` in flight. */
async function parallel<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      signal?.throwIfAborted();
      await fn(items[next++]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

async function readdirSafe(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch {
    return [];
  }
}

interface BlobState {
  /** Verified blobs (digest → size). */
  readonly good: Map<Digest, number>;
  /** Blobs present whose bytes do not match their name. */
  readonly corrupt: Set<Digest>;
}

/** Check (and with `repair`, fix) the store at `paths`. Throws only for I/O it cannot read past. */
export async function checkStore(paths: StorePaths, opts: CheckOptions = {}): Promise<CheckReport> {
  const t0 = performance.now();
  const repair = opts.repair ?? false;
  const problems: CheckProblem[] = [];
  const add = (p: Omit<CheckProblem, "repaired">): CheckProblem => {
    const full: CheckProblem = { ...p, repaired: false };
    problems.push(full);
    return full;
  };
  const removePath = async (p: CheckProblem, recursive = false): Promise<void> => {
    if (!repair || !p.repairable) return;
    await fsp.rm(p.path, { force: true, recursive });
    p.repaired = true;
  };

  // 1. The layout files.
  try {
    const v = JSON.parse(await fsp.readFile(paths.ociLayout, "utf8")) as { imageLayoutVersion?: unknown };
    if (typeof v.imageLayoutVersion !== "string") add({ kind: "layout", path: paths.ociLayout, message: "oci-layout has no imageLayoutVersion", repairable: false });
  } catch (e) {
    add({ kind: "layout", path: paths.ociLayout, message: `oci-layout is missing or unreadable: ${(e as Error).message}`, repairable: false });
  }
  let manifests: readonly Descriptor[] = [];
  try {
    manifests = (await readIndex(paths)).manifests;
  } catch (e) {
    add({ kind: "layout", path: paths.index, message: e instanceof TbuildError ? e.message : `index.json is unreadable: ${(e as Error).message}`, repairable: false });
  }

  // 2. Every blob against its name, hashed in parallel (node:crypto, streaming).
  const state: BlobState = { good: new Map(), corrupt: new Set() };
  let blobBytes = 0;
  const names = await readdirSafe(paths.sha256);
  await parallel(
    names,
    opts.concurrency ?? Math.max(2, availableParallelism() * 2),
    async (name) => {
      const path = join(paths.sha256, name);
      const st = await fsp.lstat(path).catch(() => undefined);
      if (!st) return; // removed meanwhile (a concurrent rmi or prune)
      if (!HEX64.test(name) || !st.isFile()) {
        const p = add({ kind: "stray-blob-file", path, message: `${name} in blobs/sha256 is not a blob`, repairable: true });
        await removePath(p, true);
        return;
      }
      const digest = `sha256:${name}` as Digest;
      // Blobs are only ever renamed into place, never rewritten: the size lstat saw is theirs.
      let got;
      try {
        got = { digest: await hashFile(path), size: st.size };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
        throw new TbuildError("E_IO", `cannot read blob ${path}: ${(e as Error).message}`, { cause: e });
      }
      blobBytes += got.size;
      if (got.digest === digest) {
        state.good.set(digest, got.size);
        return;
      }
      state.corrupt.add(digest);
      const p = add({ kind: "corrupt-blob", path, message: `blob ${digest} hashes to ${got.digest}`, repairable: true });
      await removePath(p);
    },
    opts.signal,
  );

  // 3. Images: every index entry's manifest, config and layers.
  const reached = new Set<Digest>();
  const tagCount = manifests.filter((d) => d.annotations?.[Annotation.REF_NAME] !== undefined).length;
  const byDigest = new Map<Digest, { desc: Descriptor; tags: string[] }>();
  for (const d of manifests) {
    let g = byDigest.get(d.digest);
    if (!g) byDigest.set(d.digest, (g = { desc: d, tags: [] }));
    const t = d.annotations?.[Annotation.REF_NAME];
    if (t !== undefined) g.tags.push(t);
  }
  const brokenDangling: Digest[] = [];
  for (const [digest, { desc, tags }] of byDigest) {
    const faults = await checkImage(paths, state, desc, reached);
    if (faults.length === 0) continue;
    const what = tags.length ? `image ${tags.join(", ")} (${digest})` : `dangling image ${digest}`;
    add({ kind: "broken-image", path: blobPath(paths.blobs, digest), message: `${what}: ${faults.join("; ")}`, tags, repairable: tags.length === 0 });
    if (tags.length === 0) brokenDangling.push(digest);
  }
  if (repair && brokenDangling.length) {
    // Drop untagged entries whose image cannot be read; a tag is never dropped.
    const drop = new Set(brokenDangling);
    await updateIndex(paths, async (current) => {
      const keep = current.filter((d) => !(drop.has(d.digest) && d.annotations?.[Annotation.REF_NAME] === undefined));
      return { manifests: keep.length !== current.length ? keep : undefined, result: undefined };
    });
    for (const p of problems) if (p.kind === "broken-image" && p.repairable) p.repaired = true;
  }

  // 4. The build cache index (tbuild/cache/v1/<aa>/<hex>.json, written by src/build).
  const cacheDir = join(paths.data, "cache", "v1");
  let cacheEntries = 0;
  const cacheFiles: string[] = [];
  for (const sub of await readdirSafe(cacheDir)) {
    for (const f of await readdirSafe(join(cacheDir, sub))) cacheFiles.push(join(cacheDir, sub, f));
  }
  await parallel(cacheFiles, 16, async (path) => {
    const name = path.slice(path.lastIndexOf("/") + 1);
    cacheEntries++;
    let rec: { key?: unknown; layer?: { diffId?: unknown; size?: unknown }; compressed?: { digest?: unknown } };
    try {
      rec = JSON.parse(await fsp.readFile(path, "utf8")) as typeof rec;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      const p = add({ kind: "cache-entry", path, message: `cache record ${name} does not parse`, repairable: true });
      await removePath(p);
      return;
    }
    const diffId = rec?.layer?.diffId;
    if (typeof rec?.key !== "string" || rec.key !== `sha256:${name.replace(/\.json$/, "")}` || typeof diffId !== "string" || !isDigest(diffId)) {
      const p = add({ kind: "cache-entry", path, message: `cache record ${name} is malformed`, repairable: true });
      await removePath(p);
      return;
    }
    reached.add(diffId);
    // A layer imported from a cache is held as its gzip blob (plain once inflated); the
    // record's size is then the cache's word until it is, so only a plain tar is measured.
    const gz = typeof rec.compressed?.digest === "string" && isDigest(rec.compressed.digest) ? rec.compressed.digest : undefined;
    const heldGzip = gz !== undefined && state.good.has(gz);
    if (heldGzip) reached.add(gz);
    const size = state.good.get(diffId);
    let problem: string | undefined;
    if (size !== undefined) problem = typeof rec.layer?.size === "number" && rec.layer.size !== size ? `has ${size} bytes, the record says ${rec.layer.size}` : undefined;
    else if (!heldGzip) problem = state.corrupt.has(diffId) || (gz !== undefined && state.corrupt.has(gz)) ? "is corrupt" : "is missing";
    if (problem) {
      const p = add({ kind: "cache-entry", path, message: `cache record ${name}: layer ${diffId} ${problem}`, repairable: true });
      await removePath(p);
    }
  });

  // 5. The layer records (tbuild/gzip/<diffid hex> → gzip blob, plain size; layer-records.ts).
  // A pulled layer's record may have no plain layer yet (it is inflated on first use).
  for (const name of await readdirSafe(paths.gzipMap)) {
    const path = join(paths.gzipMap, name);
    const diffId = `sha256:${name}` as Digest;
    const rec = HEX64.test(name) ? await readLayerRecord(paths, diffId) : undefined;
    const gz = rec?.digest;
    const plain = state.good.get(diffId);
    const fault = !rec
      ? "does not parse"
      : !state.good.has(rec.digest)
        ? `its gzip blob ${rec.digest} is gone`
        : plain !== undefined && rec.uncompressedSize !== undefined && !rec.provisional && plain !== rec.uncompressedSize
          ? `says layer ${diffId} has ${rec.uncompressedSize} bytes, it has ${plain}`
          : undefined;
    if (gz && state.good.has(gz)) reached.add(gz);
    if (fault) {
      const p = add({ kind: "gzip-entry", path, message: `gzip map entry ${name} ${fault}`, repairable: true });
      await removePath(p);
    }
  }

  // 6. Temporary files of dead processes, snapshot staging folders, a stale lock.
  let inUseTemp = 0;
  for (const name of await readdirSafe(paths.tmp)) {
    const pid = tempOwnerPid(name);
    if (pid !== undefined && pidAlive(pid)) {
      inUseTemp++;
      continue;
    }
    const p = add({ kind: "temp", path: join(paths.tmp, name), message: `temporary ${name} left by ${pid === undefined ? "an unknown process" : `process ${pid}, which is gone`}`, repairable: true });
    await removePath(p, true);
  }
  // The build engine's work folders (src/build, src/exec): snapshot staging `.tmp-*` and
  // `scratch/{copy,add,url}-*` carry no pid, so they count only past a grace period;
  // `scratch/step-<pid>-*` belongs to a RUN of that pid. Never remove a folder with a mount in it.
  const grace = opts.snapshotGraceMs ?? 10 * 60_000;
  const mounts = await mountPoints();
  const workDirs: { path: string; pid: number | undefined }[] = [];
  for (const name of await readdirSafe(join(paths.data, "snapshots"))) if (name.startsWith(".tmp-")) workDirs.push({ path: join(paths.data, "snapshots", name), pid: undefined });
  for (const name of await readdirSafe(join(paths.data, "scratch"))) {
    const owner = /^step-(\d+)-/.exec(name)?.[1];
    workDirs.push({ path: join(paths.data, "scratch", name), pid: owner === undefined ? undefined : Number(owner) });
  }
  for (const { path, pid } of workDirs) {
    const st = await fsp.lstat(path).catch(() => undefined);
    if (!st) continue;
    if (pid !== undefined ? pidAlive(pid) : Date.now() - st.mtimeMs < grace) {
      inUseTemp++;
      continue;
    }
    const inside = await mountsUnder(path, mounts);
    const canUnmount = inside.length > 0 && opts.unmount !== undefined && (pid !== undefined || Date.now() - st.mtimeMs >= grace);
    const what = `build work folder ${path.slice(paths.data.length + 1)} is left over${inside.length ? ` with ${inside.length} mount${inside.length > 1 ? "s" : ""} in it (${inside[0]})` : ""}`;
    const p = add({ kind: "temp", path, message: what, repairable: inside.length === 0 || canUnmount });
    if (repair && canUnmount) {
      for (const m of inside) await opts.unmount!(m);
      if ((await mountsUnder(path)).length > 0) continue; // still busy: leave it
    }
    await removePath(p, true);
  }
  for (const name of await readdirSafe(paths.data)) {
    if (!name.startsWith("lock.stale-")) continue;
    const p = add({ kind: "temp", path: join(paths.data, name), message: `lock left aside by a stale-lock break: ${name}`, repairable: true });
    await removePath(p);
  }
  const lockOwner = await fsp.readFile(paths.lock, "utf8").then(
    (s) => {
      try {
        return JSON.parse(s) as { pid?: unknown };
      } catch {
        return {};
      }
    },
    () => undefined,
  );
  if (lockOwner && typeof lockOwner.pid === "number" && !pidAlive(lockOwner.pid)) {
    const p = add({ kind: "stale-lock", path: paths.lock, message: `the store lock is held by process ${lockOwner.pid}, which is gone`, repairable: true });
    if (repair) {
      // withLock breaks a stale lock (and never a live one) before taking it.
      await withLock(paths.lock, async () => undefined, { timeoutMs: 10_000 });
      p.repaired = true;
    }
  }

  let unreferencedBlobs = 0;
  let unreferencedBytes = 0;
  for (const [d, size] of state.good) {
    if (reached.has(d)) continue;
    unreferencedBlobs++;
    unreferencedBytes += size;
  }
  return {
    blobs: state.good.size + state.corrupt.size,
    blobBytes,
    images: byDigest.size,
    tags: tagCount,
    cacheEntries,
    unreferencedBlobs,
    unreferencedBytes,
    inUseTemp,
    problems,
    remaining: problems.filter((p) => !p.repaired).length,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The faults of one image (empty when intact); adds every blob it reaches to `reached`. */
async function checkImage(paths: StorePaths, state: BlobState, desc: Descriptor, reached: Set<Digest>, depth = 0): Promise<string[]> {
  const faults: string[] = [];
  const blob = (d: Digest, what: string, size?: number): boolean => {
    reached.add(d);
    const have = state.good.get(d);
    if (have === undefined) {
      faults.push(`${what} ${d} is ${state.corrupt.has(d) ? "corrupt" : "missing"}`);
      return false;
    }
    if (size !== undefined && size !== have) {
      faults.push(`${what} ${d} has ${have} bytes, its descriptor says ${size}`);
      return false;
    }
    return true;
  };
  if (!blob(desc.digest, isIndexType(desc.mediaType) ? "index" : "manifest", desc.size)) return faults;
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(blobPath(paths.blobs, desc.digest));
  } catch {
    return [`manifest ${desc.digest} vanished while checking`];
  }
  try {
    if (isIndexType(desc.mediaType)) {
      if (depth > 4) return [`index ${desc.digest} nests too deeply`];
      const idx = parseIndex(bytes, `index ${desc.digest}`, "E_STORE_CORRUPT");
      for (const m of idx.manifests) faults.push(...(await checkImage(paths, state, m, reached, depth + 1)));
      return faults;
    }
    if (!isManifestType(desc.mediaType)) return faults; // an artifact tbuild does not read
    const m = parseManifest(bytes, `manifest ${desc.digest}`, "E_STORE_CORRUPT");
    if (blob(m.config.digest, "config", m.config.size)) {
      try {
        const cfg = parseConfig(await fsp.readFile(blobPath(paths.blobs, m.config.digest)), `config ${m.config.digest}`, "E_STORE_CORRUPT");
        if (cfg.rootfs.diff_ids.length !== m.layers.length) faults.push(`config lists ${cfg.rootfs.diff_ids.length} diff IDs for ${m.layers.length} layers`);
        // A compressed layer's plain copy, once inflated, belongs to the image too.
        for (const d of plainCopyNames(m.layers, cfg.rootfs.diff_ids)) if (state.good.has(d)) reached.add(d);
      } catch (e) {
        faults.push(e instanceof TbuildError ? e.message : `config ${m.config.digest} is unreadable`);
      }
    }
    m.layers.forEach((l, i) => blob(l.digest, `layer ${i + 1}`, l.size));
  } catch (e) {
    faults.push(e instanceof TbuildError ? e.message : `manifest ${desc.digest} is unreadable: ${(e as Error).message}`);
  }
  return faults;
}
