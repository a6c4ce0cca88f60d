// The OCI image layout on disk (image-spec image-layout.md): `oci-layout`, `index.json`,
// `blobs/sha256/<hex>`, plus tbuild's own folder `tbuild/` beside them (ignored by skopeo
// and umoci). index.json is only ever replaced whole, atomically, under the store lock.
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import { TbuildError } from "../util/index.js";
import { MediaType, parseIndex, type Descriptor, type ImageIndex } from "../image/index.js";
import { exists, syncDir, writeFileAtomic } from "./blobs.js";
import { withLock } from "./lock.js";

/** Every path of a store, derived from its root. */
export interface StorePaths {
  readonly root: string;
  readonly ociLayout: string;
  readonly index: string;
  readonly blobs: string;
  readonly sha256: string;
  /** tbuild's own data: cache index, snapshots, file hashes, compression map. */
  readonly data: string;
  /** Temporary files and staging folders (`<pid>-<random>`); same file system as blobs. */
  readonly tmp: string;
  readonly lock: string;
  /** diffId hex → the layer's record (gzip blob, plain size, where pulls found it; layer-records.ts), one small file each. */
  readonly gzipMap: string;
}

export function storePaths(root: string): StorePaths {
  const data = join(root, "tbuild");
  return {
    root,
    ociLayout: join(root, "oci-layout"),
    index: join(root, "index.json"),
    blobs: join(root, "blobs"),
    sha256: join(root, "blobs", "sha256"),
    data,
    tmp: join(data, "tmp"),
    lock: join(data, "lock"),
    gzipMap: join(data, "gzip"),
  };
}

const EMPTY_INDEX: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [] };

/** Serialise index.json: stable key order, one descriptor per line (diffs well). */
export function encodeIndex(index: ImageIndex): string {
  const manifests = index.manifests.map((d) => "  " + JSON.stringify(d)).join(",\n");
  return `{"schemaVersion":2,"mediaType":"${MediaType.OCI_INDEX}","manifests":[${manifests ? `\n${manifests}\n` : ""}]${index.annotations ? `,"annotations":${JSON.stringify(index.annotations)}` : ""}}\n`;
}

/** Create the layout if missing. Safe to run concurrently. */
export async function initLayout(p: StorePaths): Promise<void> {
  if ((await exists(p.index)) && (await exists(p.ociLayout)) && (await exists(p.tmp))) return;
  await fsp.mkdir(p.sha256, { recursive: true });
  await fsp.mkdir(p.tmp, { recursive: true });
  await fsp.mkdir(p.gzipMap, { recursive: true });
  await withLock(p.lock, async () => {
    const writeIfMissing = async (path: string, bytes: Uint8Array | string) => {
      if (!(await exists(path))) await writeFileAtomic(p.tmp, path, bytes);
    };
    // Side by side: the first command on a new root (a pull into an empty store) waits for one fsync, not two.
    await Promise.all([writeIfMissing(p.ociLayout, JSON.stringify({ imageLayoutVersion: MediaType.OCI_LAYOUT_VERSION })), writeIfMissing(p.index, encodeIndex(EMPTY_INDEX))]);
    await syncDir(p.root);
  });
}

/** Read index.json (no lock needed: it is only ever replaced by rename). */
export async function readIndex(p: StorePaths): Promise<ImageIndex> {
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(p.index);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return EMPTY_INDEX;
    throw new TbuildError("E_IO", `cannot read ${p.index}: ${(e as Error).message}`, { cause: e });
  }
  return parseIndex(bytes, p.index, "E_STORE_CORRUPT");
}

/**
 * Read-modify-write index.json under the store lock. `edit` receives the current manifests
 * and returns the new list (or undefined for no change); it may do other locked work.
 */
export async function updateIndex<T>(p: StorePaths, edit: (manifests: readonly Descriptor[]) => Promise<{ manifests?: Descriptor[]; result: T }>): Promise<T> {
  return withLock(p.lock, async () => {
    const cur = await readIndex(p);
    const { manifests, result } = await edit(cur.manifests);
    if (manifests) {
      const sorted = [...manifests].sort(compareDescriptors);
      await writeFileAtomic(p.tmp, p.index, encodeIndex({ ...cur, manifests: sorted }));
      await syncDir(p.root);
    }
    return result;
  });
}

function refName(d: Descriptor): string {
  return d.annotations?.["org.opencontainers.image.ref.name"] ?? "";
}

function compareDescriptors(a: Descriptor, b: Descriptor): number {
  const ra = refName(a);
  const rb = refName(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}
