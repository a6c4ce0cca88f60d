// `tbuild prune [-a]`: remove dangling images (no tag) and every blob no image uses, and
// temporary files left by killed processes. Tagged images are never pruned: use rmi.
import { readdir } from "node:fs/promises";
import { Store, collectGarbage } from "../../store/index.js";
import { pruneSnapshots } from "../../build/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";
import { humanSize } from "../render/table.js";

export const spec: CommandSpec = {
  name: "prune",
  summary: "Remove dangling images and unused blobs",
  usage: "prune [OPTIONS]",
  maxPositionals: 0,
  options: {
    all: { type: "boolean", short: "a", description: "also drop cached gzip copies of layers, every snapshot and every RUN cache mount" },
    force: { type: "boolean", short: "f", description: "do not prompt (tbuild never prompts)" },
    format: { type: "string", valueName: "FORMAT", description: "text (default) or json" },
  },
  details: "Unlike docker, -a does not remove tagged images (tbuild has no containers to tell used from unused).",
};

export async function run(ctx: CommandContext): Promise<number> {
  const store = await Store.open(ctx.root);
  if (ctx.values.all) {
    const { mkdir, rm } = await import("node:fs/promises");
    await store.withLock(async () => {
      await rm(store.paths.gzipMap, { recursive: true, force: true });
      await mkdir(store.paths.gzipMap, { recursive: true });
    });
  }
  const r = await collectGarbage(store.paths, { dangling: true });
  // Unpacked snapshots whose layers are gone (or all of them with -a) go too.
  const blobs = new Set((await readdir(store.paths.sha256).catch(() => [] as string[])).map((h) => `sha256:${h}`));
  const snaps = await pruneSnapshots(store.dataDir, (d) => blobs.has(d), { all: ctx.values.all === true });
  if (ctx.values.format === "json") {
    ctx.io.stdout.write(JSON.stringify({ ImagesDeleted: r.deletedImages, BlobsDeleted: r.deletedBlobs, SpaceReclaimed: r.reclaimedBytes, SnapshotsDeleted: snaps.snapshots, CacheMountsDeleted: snaps.cacheMounts }) + "\n");
    return 0;
  }
  if (r.deletedImages.length) {
    ctx.io.stdout.write("Deleted Images:\n");
    for (const d of r.deletedImages) ctx.io.stdout.write(`deleted: ${d}\n`);
    ctx.io.stdout.write("\n");
  }
  if (r.deletedBlobs.length) ctx.io.stdout.write(`Deleted ${r.deletedBlobs.length} unused blob${r.deletedBlobs.length === 1 ? "" : "s"}\n\n`);
  if (snaps.snapshots) ctx.io.stdout.write(`Deleted ${snaps.snapshots} unused snapshot${snaps.snapshots === 1 ? "" : "s"}\n`);
  if (snaps.cacheMounts) ctx.io.stdout.write(`Deleted ${snaps.cacheMounts} RUN cache mount${snaps.cacheMounts === 1 ? "" : "s"}\n`);
  ctx.io.stdout.write(`Total reclaimed space: ${humanSize(r.reclaimedBytes)}\n`);
  return 0;
}
