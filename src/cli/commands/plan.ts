// `tbuild plan [-f FILE] [--build-arg K=V]… [--target T] [--format text|json] CONTEXT`:
// plan a build without running it. Context sources are hashed through src/context (with
// the store's file-hash cache); base images are looked up in the store when it exists,
// and unknown ones are planned with an empty config and a name-only key (and said so).
import { existsSync } from "node:fs";
import { arch } from "node:os";
import { isAbsolute, join, relative } from "node:path";
import { openContext, recordDigest, type BuildContext } from "../../context/index.js";
import { ociArchitecture, type Platform } from "../../image/index.js";
import { formatPlan, planBuild, planJson, type BaseImageResolver, type ResolvedImage, type SourceHasher } from "../../plan/index.js";
import { Store } from "../../store/index.js";
import { TbuildError, type Digest } from "../../util/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";

export const spec: CommandSpec = {
  name: "plan",
  summary: "Show the steps, cache keys and layers a build would make, without building",
  usage: "plan [-f FILE] [--build-arg K[=V]]… [--target STAGE] [--format text|json] CONTEXT",
  options: {
    file: { type: "string", short: "f", valueName: "FILE", description: "the Dockerfile (default CONTEXT/Dockerfile)" },
    "build-arg": { type: "string", multiple: true, valueName: "K[=V]", description: "set a build arg (K alone takes its value from the environment)" },
    target: { type: "string", valueName: "STAGE", description: "plan only this stage and the stages it needs" },
    format: { type: "string", valueName: "FORMAT", default: "text", description: "text (default) or json (the whole plan: steps, keys, preimages; each RUN environment once, by digest)" },
  },
  details: "Each step shows its short cache key, `layer` when it makes a layer, its line, and a summary of its inputs.",
  minPositionals: 1,
  maxPositionals: 1,
};

/** The planner's SourceHasher over an opened build context. */
export function contextHasher(c: BuildContext): SourceHasher {
  return {
    async hash(req) {
      const selection = c.select(req.sources, { parents: req.parents, excludes: req.exclude, followSymlinks: req.followPaths });
      const h = await c.hashSelection(selection);
      const files: Record<string, Digest> = {};
      for (const f of h.files) files[f.path] = recordDigest(f.record);
      return { digest: h.digest, files };
    },
  };
}

/** A resolver over the images in the store; undefined for anything else. */
export function storeResolver(store: Store | undefined): BaseImageResolver {
  return {
    async resolve(ref): Promise<ResolvedImage | undefined> {
      if (!store) return undefined;
      const img = await store.find(ref);
      if (!img) return undefined;
      const c = img.config;
      return {
        ref: img.tags[0] ?? ref,
        digest: img.manifestDigest,
        config: c.config ?? {},
        ...(c.history ? { history: c.history } : {}),
        platform: { os: c.os, architecture: c.architecture, ...(c.variant ? { variant: c.variant } : {}) },
      };
    },
  };
}

export function hostPlatform(): Platform {
  return { os: "linux", architecture: ociArchitecture(arch()) };
}

export async function run(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const format = String(ctx.values.format ?? "text");
  if (format !== "text" && format !== "json") throw new TbuildError("E_USAGE", `unknown format ${JSON.stringify(format)}`, { hint: "use --format text or --format json" });
  const abs = (p: string): string => (isAbsolute(p) ? p : join(io.cwd, p));
  const dir = abs(ctx.positionals[0]!);
  const file = typeof ctx.values.file === "string" ? abs(ctx.values.file) : undefined;
  const hasStore = existsSync(ctx.root);
  const c = await openContext(dir, { ...(file ? { dockerfile: file } : {}), ...(hasStore ? { cacheDir: join(ctx.root, "file-hashes") } : {}), signal: io.signal });
  try {
    const text = await c.readDockerfile();
    const shown = relative(io.cwd, c.dockerfile) || c.dockerfile;
    ctx.registerSource(shown, text);
    const store = hasStore ? await Store.open(ctx.root) : undefined;
    const buildArgs = (ctx.values["build-arg"] as string[] | undefined) ?? [];
    const environ: Record<string, string | undefined> = { ...io.env };
    const plan = await planBuild({
      dockerfile: text,
      file: shown,
      buildArgs,
      environ,
      ...(typeof ctx.values.target === "string" ? { target: ctx.values.target } : {}),
      platform: hostPlatform(),
      resolver: storeResolver(store),
      hasher: contextHasher(c),
    });
    if (format === "json") io.stdout.write(JSON.stringify(planJson(plan), null, 2) + "\n");
    else io.stdout.write(formatPlan(plan));
    for (const d of plan.diagnostics) {
      const where = d.location ? `${d.location.file}:${d.location.range.start.line}: ` : "";
      io.stderr.write(`warning: ${where}${d.message}${d.hint ? ` (${d.hint})` : ""}\n`);
    }
    return 0;
  } finally {
    if (hasStore) await c.close();
  }
}
