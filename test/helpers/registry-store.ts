// The real src/store Store behind the registry's TransferStore port, for the registry
// suites (STYLE.md: real parts, not fakes), with the few extra views those suites assert
// on: tag a manifest, resolve a tag, list the images, and a clean-store check.
import { readdirSync } from "node:fs";
import { storeTransfer, type TransferStore } from "../../src/registry/index.js";
import { Store, checkStore } from "../../src/store/index.js";
import type { Digest } from "../../src/util/index.js";

export interface RealTransferStore extends TransferStore {
  readonly store: Store;
  readonly dir: string;
  /** Tag the manifest `m` (by its digest) with each reference. */
  tagManifest(m: { digest: Digest }, refs: readonly string[]): Promise<void>;
  resolveManifest(ref: string): Promise<{ digest: Digest } | undefined>;
  /** The images in the store (an empty store: []). */
  index(): Promise<readonly unknown[]>;
  /** Leftover temp files, and the store check's problems. */
  check(): Promise<{ temps: string[]; bad: string[] }>;
}

/** The store in `dir` (the caller removes it: test/helpers/temp-dirs.ts). */
export async function openRealStore(dir: string): Promise<RealTransferStore> {
  const store = await Store.open(dir);
  return {
    ...storeTransfer(store),
    store,
    dir,
    tagManifest: async (m, refs) => {
      for (const r of refs) await store.tag(m.digest, r);
    },
    resolveManifest: async (ref) => {
      const img = await store.find(ref);
      return img ? { digest: img.manifestDigest } : undefined;
    },
    index: async () => store.listImages(),
    check: async () => {
      const temps = readdirSync(store.tmpDir);
      const report = await checkStore(store.paths);
      return { temps, bad: report.problems.map((p) => `${p.kind}: ${JSON.stringify(p)}`) };
    },
  };
}

/** Put an image of plain-tar layers (already tar bytes) into the store under `ref`; returns its image ID. */
export async function putTarImage(s: RealTransferStore, ref: string, tars: readonly Uint8Array[], arch = "amd64"): Promise<Digest> {
  const layers = [];
  for (const t of tars) {
    const b = await s.store.putBlob(t);
    layers.push({ diffId: b.digest, size: b.size });
  }
  const config = Buffer.from(JSON.stringify({ architecture: arch, os: "linux", rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) }, config: {} }));
  return (await s.store.putImage({ config, layers, tags: [ref] })).imageId;
}
