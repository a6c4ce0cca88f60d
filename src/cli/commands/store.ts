// `tbuild store check [--repair]`: verify the store (fsck) and optionally remove what is
// broken or left over. Exit 0 when the store is clean (or was repaired), 1 when problems
// remain; a broken tagged image is reported, never dropped.
import { stat } from "node:fs/promises";
import { TbuildError } from "../../util/index.js";
import { checkStore, storePaths, type CheckReport } from "../../store/index.js";
import { unmount } from "../../exec/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";
import { humanSize } from "../render/table.js";

export const spec: CommandSpec = {
  name: "store",
  summary: "Check the store (store check [--repair])",
  usage: "store check [OPTIONS]",
  minPositionals: 1,
  maxPositionals: 1,
  options: {
    repair: { type: "boolean", description: "remove corrupt blobs, dangling cache and gzip entries, broken untagged images and temporary files of dead processes" },
    format: { type: "string", valueName: "FORMAT", description: "text (default) or json" },
  },
  details:
    "Verifies every blob's digest, every image's manifest, config and layers (present, sizes right), every tag's target, the build cache index and the gzip map, and finds temporary files and locks left by killed processes. Unreferenced blobs are counted, not removed (tbuild prune removes them). Exit 1 when problems remain.",
};

function renderText(r: CheckReport): string {
  const lines: string[] = [];
  for (const p of r.problems) lines.push(`${p.repaired ? "repaired" : p.repairable ? "problem" : "PROBLEM"}: ${p.kind}: ${p.message}`);
  lines.push(
    `checked ${r.blobs} blobs (${humanSize(r.blobBytes)}), ${r.images} images, ${r.tags} tags, ${r.cacheEntries} cache entries in ${r.seconds.toFixed(2)}s`,
  );
  if (r.unreferencedBlobs) lines.push(`${r.unreferencedBlobs} unreferenced blobs (${humanSize(r.unreferencedBytes)}): "tbuild prune" reclaims them`);
  if (r.inUseTemp) lines.push(`${r.inUseTemp} temporary entries belong to running processes (left alone)`);
  const repaired = r.problems.length - r.remaining;
  if (r.problems.length === 0) lines.push("store is clean");
  else lines.push(`${r.problems.length} problems, ${repaired} repaired, ${r.remaining} remaining${r.remaining && r.problems.some((p) => !p.repaired && p.repairable) ? ' (run "tbuild store check --repair")' : ""}`);
  return lines.join("\n") + "\n";
}

export async function run(ctx: CommandContext): Promise<number> {
  const sub = ctx.positionals[0];
  if (sub !== "check") throw new TbuildError("E_USAGE", `unknown store command: ${sub ?? ""}`, { hint: 'the only one is "tbuild store check [--repair]"' });
  const format = ctx.values.format ?? "text";
  if (format !== "text" && format !== "json") throw new TbuildError("E_USAGE", `unknown format ${String(format)}`, { hint: "use text or json" });
  const st = await stat(ctx.root).catch(() => undefined);
  if (!st?.isDirectory()) throw new TbuildError("E_STORE_NOT_FOUND", `no store at ${ctx.root}`, { hint: "pass --root DIR or set TBUILD_ROOT" });
  const report = await checkStore(storePaths(ctx.root), { repair: ctx.values.repair === true, signal: ctx.io.signal, unmount });
  ctx.io.stdout.write(format === "json" ? `${JSON.stringify(report)}\n` : renderText(report));
  return report.remaining === 0 ? 0 : 1;
}
