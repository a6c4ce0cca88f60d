// `tbuild history IMAGE`: the config's history, newest first, with each layer's size.
import { TbuildError, shortDigest } from "../../util/index.js";
import { historyLayers } from "../../image/index.js";
import { Store } from "../../store/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";
import { ellipsis, humanSize, renderTable, timeAgo } from "../render/table.js";

export const spec: CommandSpec = {
  name: "history",
  summary: "Show the history of an image",
  usage: "history [OPTIONS] IMAGE",
  minPositionals: 1,
  maxPositionals: 1,
  options: {
    "no-trunc": { type: "boolean", description: "don't truncate output" },
    quiet: { type: "boolean", short: "q", description: "only show image IDs" },
    human: { type: "boolean", short: "H", default: true, description: "print sizes and dates in human readable form (default)" },
    format: { type: "string", valueName: "FORMAT", description: "table (default) or json" },
  },
  details: "JSON: one object per line, newest first: {ID, CreatedAt, CreatedBy, Size (bytes), Comment, EmptyLayer}.",
};

export async function run(ctx: CommandContext): Promise<number> {
  const v = ctx.values as { "no-trunc"?: boolean; quiet?: boolean; format?: string };
  if (v.format !== undefined && v.format !== "table" && v.format !== "json") throw new TbuildError("E_USAGE", `unknown --format ${v.format}`, { hint: "use table or json" });
  const store = await Store.open(ctx.root);
  const image = await store.resolve(ctx.positionals[0]!);
  const history = image.config.history ?? [];
  const layerOf = historyLayers(image.config);
  const rows = history.map((h, i) => {
    const li = layerOf[i]!;
    return { h, size: li >= 0 ? (image.rootfs[li]?.size ?? 0) : 0 };
  });
  rows.reverse();
  const noTrunc = v["no-trunc"] === true;
  const idOf = (i: number) => (i === 0 ? (noTrunc ? image.id : shortDigest(image.id)) : "<missing>");
  if (v.format === "json") {
    rows.forEach((r, i) => ctx.io.stdout.write(JSON.stringify({ ID: i === 0 ? image.id : "<missing>", CreatedAt: r.h.created ?? null, CreatedBy: r.h.created_by ?? "", Size: r.size, Comment: r.h.comment ?? "", EmptyLayer: r.h.empty_layer === true }) + "\n"));
    return 0;
  }
  if (v.quiet) {
    rows.forEach((_, i) => ctx.io.stdout.write(`${idOf(i)}\n`));
    return 0;
  }
  const now = Date.now();
  const table = rows.map((r, i) => {
    const by = (r.h.created_by ?? "").replace(/\s+/g, " ");
    return [idOf(i), timeAgo(r.h.created, now), noTrunc ? by : ellipsis(by, 45), humanSize(r.size), r.h.comment ?? ""];
  });
  ctx.io.stdout.write(renderTable(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], table));
  return 0;
}
