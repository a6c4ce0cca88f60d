// `tbuild prune [-a]`: remove dangling images (no tag), every blob neither an image nor the
// build cache uses, and temporary files left by killed processes; `-a` also removes the
// build cache. Tagged images are never pruned: use rmi.
import { readdir } from "node:fs/promises";
import type { Digest } from "../../util/index.js";
import { Store, collectGarbage } from "../../store/index.js";
import { CacheIndex, pruneSnapshots } from "../../build/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";
import { humanSize } from "../render/table.js";

export const spec: CommandSpec = {
  name: "prune",
  summary: "Remove dangling images and blobs neither an image nor the build cache uses",
  usage: "prune [OPTIONS]",
  maxPositionals: 0,
  options: {
    all: { type: "boolean", short: "a", description: "also remove the build cache (step records and their layers), cached gzip copies of layers, every snapshot and every RUN cache mount" },
    force: { type: "boolean", short: "f", description: "do not prompt (tbuild never prompts)" },
    format: { type: "string", valueName: "FORMAT", description: "text (default) or json" },
  },
  details:
    "Without -a the build cache is kept, as docker image prune keeps it: the layers its step records point at stay, so the next build of the same steps is CACHED. " +
    "-a removes it too, as docker builder prune -a would. Unlike docker, -a does not remove tagged images (tbuild has no containers to tell used from unused).",
};

export async function run(ctx: CommandContext): Promise<number> {
  const store = await Store.open(ctx.root);
  const cache = new CacheIndex(store);
  let cacheDeleted = 0;
  if (ctx.values.all) cacheDeleted = await cache.clear();
  // The build cache's layers are kept: read under the store lock, right before deleting.
  let kept: { records: number; layers: Map<Digest, number>; blobs: Set<Digest> } = { records: 0, layers: new Map(), blobs: new Set() };
  const r = await collectGarbage(store.paths, {
    dangling: true,
    forgetGzipCopies: ctx.values.all === true,
    keep: async () => {
      kept = await cache.layers();
      return kept.blobs;
    },
  });
  const cacheBytes = [...kept.layers.values()].reduce((a, b) => a + b, 0);
  // Unpacked snapshots whose layers are gone (or all of them with -a) go too.
  const blobs = new Set((await readdir(store.paths.sha256).catch(() => [] as string[])).map((h) => `sha256:${h}`));
  const snaps = await pruneSnapshots(store.dataDir, (d) => blobs.has(d), { all: ctx.values.all === true });
  if (ctx.values.format === "json") {
    ctx.io.stdout.write(JSON.stringify({
      ImagesDeleted: r.deletedImages, BlobsDeleted: r.deletedBlobs, SpaceReclaimed: r.reclaimedBytes, SnapshotsDeleted: snaps.snapshots, CacheMountsDeleted: snaps.cacheMounts,
      BuildCacheRecordsDeleted: cacheDeleted, BuildCacheRecords: kept.records, BuildCacheLayers: kept.layers.size, BuildCacheSize: cacheBytes,
    }) + "\n");
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
  if (cacheDeleted) ctx.io.stdout.write(`Deleted ${cacheDeleted} build cache record${cacheDeleted === 1 ? "" : "s"}\n`);
  if (kept.records) {
    ctx.io.stdout.write(`Kept build cache: ${kept.records} record${kept.records === 1 ? "" : "s"}, ${kept.layers.size} layer${kept.layers.size === 1 ? "" : "s"} (${humanSize(cacheBytes)}); tbuild prune -a removes it\n`);
  }
  ctx.io.stdout.write(`Total reclaimed space: ${humanSize(r.reclaimedBytes)}\n`);
  return 0;
}
