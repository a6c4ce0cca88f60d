// `tbuild df`: disk usage of the store: per image its size, what it shares with other
// images and what is its own; shared layers count once in the total.
import { shortDigest } from "../../util/index.js";
import { familiarString } from "../../image/index.js";
import { Store, diskUsage } from "../../store/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";
import { humanSize, renderTable } from "../render/table.js";

export const spec: CommandSpec = {
  name: "df",
  summary: "Show the store's disk usage",
  usage: "df [OPTIONS]",
  maxPositionals: 0,
  options: {
    format: { type: "string", valueName: "FORMAT", description: "table (default) or json" },
  },
  details: "JSON: {Images: [{ID, Tags, Size, SharedSize, UniqueSize}], LayersSize, BlobsSize, Reclaimable} (bytes).",
};

export async function run(ctx: CommandContext): Promise<number> {
  const store = await Store.open(ctx.root);
  const u = await diskUsage(store);
  if (ctx.values.format === "json") {
    ctx.io.stdout.write(
      JSON.stringify({
        Images: u.images.map((i) => ({ ID: i.image.id, Tags: i.image.tags, Size: i.image.size, SharedSize: i.shared, UniqueSize: i.unique })),
        LayersSize: u.layersSize,
        BlobsSize: u.blobsSize,
        BlobCount: u.blobCount,
        Reclaimable: u.reclaimable,
      }) + "\n",
    );
    return 0;
  }
  const tagged = u.images.filter((i) => i.image.tags.length > 0).length;
  ctx.io.stdout.write(renderTable(["TYPE", "TOTAL", "TAGGED", "SIZE", "RECLAIMABLE"], [["Images", String(u.images.length), String(tagged), humanSize(u.layersSize), humanSize(u.reclaimable)]]));
  ctx.io.stdout.write("\n");
  const rows = u.images.map((i) => [i.image.tags.map(familiarString).join(", ") || "<none>", shortDigest(i.image.id), humanSize(i.image.size), humanSize(i.shared), humanSize(i.unique)]);
  ctx.io.stdout.write(renderTable(["IMAGE", "IMAGE ID", "SIZE", "SHARED SIZE", "UNIQUE SIZE"], rows));
  ctx.io.stdout.write(`\nStore: ${store.root} (${u.blobCount} blobs, ${humanSize(u.blobsSize)} on disk)\n`);
  return 0;
}
