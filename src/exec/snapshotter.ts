// Unpacked root file systems, one per layer chain, so a step never re-extracts its base.
// Each snapshot is the full merged tree of its chain: a hardlink clone of its parent's
// snapshot with its own layer applied (whiteouts included). A RUN mounts it as the single
// overlay lower; COPY and the copy fallback read it directly.
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { digestHex, sha256Digest, type Digest } from "../util/index.js";
import { extractTar } from "./safe-extract.js";
import { cloneTreeLinked } from "./tree.js";

/** A layer blob on disk: an uncompressed (or gzip) tar and its diff ID. */
export interface LayerSource {
  readonly diffId: Digest;
  readonly path: string;
}

export interface PreparedRootfs {
  /** The chain ID of the whole list; undefined for no layers (`FROM scratch`). */
  readonly chainId: Digest | undefined;
  /** The merged root file system. Read-only by contract: never write into it. */
  readonly rootfs: string;
  /** Overlay lower directories, topmost first (always exactly `[rootfs]`). */
  readonly lowerdirs: readonly string[];
}

/**
 * OCI chain IDs: ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " +
 * DiffID(Ln)) (image-spec config.md "Layer ChainID").
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256Digest(`${out[out.length - 1]!} ${d}`));
  return out;
}

/**
 * Snapshots under `dir`: `<dir>/<chain hex>/rootfs`, with `diffids` (its layers, base first) beside it.
 *
 * Why merged snapshots rather than containerd's one-directory-per-layer overlay lowers:
 * per-layer lowers need the `trusted.overlay.opaque` xattr for opaque directories, which
 * Node cannot set without a native addon, and deep chains overflow the one-page mount
 * option string. A merged snapshot costs one `cp -al` per new chain (hardlinks: no file
 * data is copied) and keeps every overlay at a single lower. A snapshot is built in a
 * temporary directory and renamed into place, so a crash leaves no half snapshot and two
 * builders racing for the same chain both end up using one.
 */
export class Snapshotter {
  constructor(readonly dir: string) {}

  /** The snapshot path for a chain ID. */
  rootfsOf(chainId: Digest): string {
    return join(this.dir, digestHex(chainId), "rootfs");
  }

  /**
   * The root file system for `layers` (base first), unpacking only the layers whose chain
   * is not yet there. Layer tars are extracted with devices allowed and owners preserved.
   */
  async prepareRootfs(layers: readonly LayerSource[], opts: { signal?: AbortSignal } = {}): Promise<PreparedRootfs> {
    await mkdir(this.dir, { recursive: true });
    if (layers.length === 0) {
      const rootfs = join(this.dir, "scratch", "rootfs");
      await mkdir(rootfs, { recursive: true, mode: 0o755 });
      return { chainId: undefined, rootfs, lowerdirs: [rootfs] };
    }
    const chain = chainIds(layers.map((l) => l.diffId));
    let have = chain.length;
    while (have > 0 && !(await exists(this.rootfsOf(chain[have - 1]!)))) have--;
    for (let i = have; i < chain.length; i++) {
      opts.signal?.throwIfAborted();
      // The pid lets the next build tell a dead builder's staging folder from a live one.
      const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
      try {
        await mkdir(tmp);
        if (i === 0) await mkdir(join(tmp, "rootfs"), { mode: 0o755 });
        else await cloneTreeLinked(this.rootfsOf(chain[i - 1]!), join(tmp, "rootfs"));
        await extractTar(createReadStream(layers[i]!.path), join(tmp, "rootfs"), { whiteouts: "apply", allowDevices: true, preserveOwners: true, ...(opts.signal ? { signal: opts.signal } : {}) });
        // Which layers the snapshot holds, base first: `tbuild prune` keeps it while they all exist.
        await writeFile(join(tmp, "diffids"), layers.slice(0, i + 1).map((l) => `${l.diffId}\n`).join(""));
        await rename(tmp, join(this.dir, digestHex(chain[i]!))).catch(async (e: NodeJS.ErrnoException) => {
          if (e.code !== "ENOTEMPTY" && e.code !== "EEXIST") throw e;
        });
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }
    const rootfs = this.rootfsOf(chain[chain.length - 1]!);
    return { chainId: chain[chain.length - 1]!, rootfs, lowerdirs: [rootfs] };
  }

  /** Remove one chain's snapshot (its children stay valid: they share only inodes). */
  async remove(chainId: Digest): Promise<void> {
    await rm(join(this.dir, digestHex(chainId)), { recursive: true, force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
