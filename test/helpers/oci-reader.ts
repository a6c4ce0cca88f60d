// A minimal OCI image-layout reader for tests, independent of src/store so the store is
// not tested with itself: index.json → tagged manifests → config and layers, every blob
// digest checked.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { extract } from "tar-stream";

export interface OciImage {
  ref: string | undefined;
  manifestDigest: string;
  configDigest: string;
  config: { architecture: string; os: string; config?: Record<string, unknown>; rootfs: { diff_ids: string[] }; history?: { created_by?: string; empty_layer?: boolean }[] };
  layers: { mediaType: string; digest: string; size: number }[];
}

function sha(b: Buffer): string {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

export function readBlob(root: string, digest: string): Buffer {
  const b = readFileSync(join(root, "blobs", "sha256", digest.replace(/^sha256:/, "")));
  if (sha(b) !== digest) throw new Error(`blob ${digest} does not match its digest`);
  return b;
}

/** Every image entry of index.json (one per tag, untagged ones with ref undefined). */
export function readLayout(root: string): OciImage[] {
  const layout = JSON.parse(readFileSync(join(root, "oci-layout"), "utf8")) as { imageLayoutVersion: string };
  if (layout.imageLayoutVersion !== "1.0.0") throw new Error("bad oci-layout");
  const index = JSON.parse(readFileSync(join(root, "index.json"), "utf8")) as { schemaVersion: number; manifests: { digest: string; size: number; annotations?: Record<string, string> }[] };
  if (index.schemaVersion !== 2) throw new Error("bad index.json");
  return index.manifests.map((d) => {
    const mb = readBlob(root, d.digest);
    if (mb.length !== d.size) throw new Error(`manifest ${d.digest} size mismatch`);
    const m = JSON.parse(mb.toString()) as { config: { digest: string }; layers: OciImage["layers"] };
    const config = JSON.parse(readBlob(root, m.config.digest).toString()) as OciImage["config"];
    return { ref: d.annotations?.["org.opencontainers.image.ref.name"], manifestDigest: d.digest, configDigest: m.config.digest, config, layers: m.layers };
  });
}

export function findImage(root: string, ref: string): OciImage | undefined {
  return readLayout(root).find((i) => i.ref === ref);
}

/** Verify every layer blob of every image (size and digest). Throws on the first problem. */
export function verifyLayout(root: string): void {
  for (const img of readLayout(root)) {
    for (const l of img.layers) {
      const b = readBlob(root, l.digest);
      if (b.length !== l.size) throw new Error(`layer ${l.digest} size mismatch`);
    }
  }
}

/** Blob file names, for before/after comparisons. */
export function listBlobs(root: string): string[] {
  const dir = join(root, "blobs", "sha256");
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** A snapshot of the store's visible state: index.json bytes and blob names with sizes. */
export function snapshotStore(root: string): string {
  const idx = existsSync(join(root, "index.json")) ? readFileSync(join(root, "index.json"), "utf8") : "";
  return idx + "\n" + listBlobs(root).map((b) => `${b} ${statSync(join(root, "blobs", "sha256", b)).size}`).join("\n");
}

/** The entry names of a layer tar, in archive order. */
export async function tarNames(tar: Uint8Array): Promise<string[]> {
  const ex = extract();
  Readable.from([tar]).pipe(ex);
  const names: string[] = [];
  for await (const e of ex) {
    names.push(e.header.name);
    e.resume();
  }
  return names;
}
