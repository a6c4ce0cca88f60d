// `tbuild images [REPO[:TAG]]` / `tbuild image ls`: the images in the store, Docker's columns.
import { TbuildError, shortDigest } from "../../util/index.js";
import { familiarRepository, parseReference, repositoryName } from "../../image/index.js";
import { Store, type StoredImage } from "../../store/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";
import { humanSize, renderTable, timeAgo } from "../render/table.js";

export const spec: CommandSpec = {
  name: "images",
  summary: "List images in the store",
  usage: "images [OPTIONS] [REPOSITORY[:TAG]]",
  maxPositionals: 1,
  options: {
    all: { type: "boolean", short: "a", description: "show all images (dangling ones are always shown)" },
    quiet: { type: "boolean", short: "q", description: "only show image IDs" },
    digests: { type: "boolean", description: "show digests" },
    "no-trunc": { type: "boolean", description: "don't truncate output" },
    format: { type: "string", valueName: "FORMAT", description: "table (default) or json" },
  },
  details: "JSON: one object per line: {ID, Repository, Tag, Digest, CreatedAt, Size (bytes), Tags}.",
};

interface Row {
  image: StoredImage;
  repository: string;
  tag: string;
}

export function rowsOf(images: readonly StoredImage[], filter?: string): Row[] {
  let want: { repo: string; tag?: string } | undefined;
  if (filter) {
    const r = parseReference(filter, { defaultTag: false });
    want = { repo: repositoryName(r), ...(r.tag !== undefined ? { tag: r.tag } : {}) };
  }
  const rows: Row[] = [];
  for (const image of images) {
    if (image.tags.length === 0) {
      if (!want) rows.push({ image, repository: "<none>", tag: "<none>" });
      continue;
    }
    for (const t of image.tags) {
      let r;
      try {
        r = parseReference(t);
      } catch {
        rows.push({ image, repository: t, tag: "<none>" });
        continue;
      }
      if (want && (repositoryName(r) !== want.repo || (want.tag !== undefined && r.tag !== want.tag))) continue;
      rows.push({ image, repository: familiarRepository(r), tag: r.tag ?? "<none>" });
    }
  }
  const created = (i: StoredImage) => Date.parse(i.config.created ?? "") || 0;
  return rows.sort((a, b) => created(b.image) - created(a.image) || a.repository.localeCompare(b.repository) || a.tag.localeCompare(b.tag));
}

export async function run(ctx: CommandContext): Promise<number> {
  const v = ctx.values as { quiet?: boolean; digests?: boolean; "no-trunc"?: boolean; format?: string; all?: boolean };
  const store = await Store.open(ctx.root);
  const rows = rowsOf(await store.listImages(), ctx.positionals[0]);
  const noTrunc = v["no-trunc"] === true;
  const id = (i: StoredImage) => (noTrunc ? i.id : shortDigest(i.id));
  if (v.format === "json") {
    for (const r of rows) {
      ctx.io.stdout.write(JSON.stringify({ ID: r.image.id, Repository: r.repository, Tag: r.tag, Digest: r.image.manifestDigest, CreatedAt: r.image.config.created ?? null, Size: r.image.size, Tags: r.image.tags }) + "\n");
    }
    return 0;
  }
  if (v.format !== undefined && v.format !== "table") throw new TbuildError("E_USAGE", `unknown --format ${v.format}`, { hint: "use table or json" });
  if (v.quiet) {
    const seen = new Set<string>();
    for (const r of rows) if (!seen.has(r.image.id)) ctx.io.stdout.write(`${seen.add(r.image.id) && id(r.image)}\n`);
    return 0;
  }
  const now = Date.now();
  const header = ["REPOSITORY", "TAG", ...(v.digests ? ["DIGEST"] : []), "IMAGE ID", "CREATED", "SIZE"];
  const table = rows.map((r) => [r.repository, r.tag, ...(v.digests ? [r.image.manifestDigest] : []), id(r.image), timeAgo(r.image.config.created, now), humanSize(r.image.size)]);
  ctx.io.stdout.write(renderTable(header, table));
  return 0;
}
