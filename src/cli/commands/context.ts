// `tbuild context [-f Dockerfile] [--hash] DIR`: what a build would send after
// .dockerignore (one path per line, then totals), or with --hash the context's digest.
import { isAbsolute, join } from "node:path";
import { openContext } from "../../context/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";

export const spec: CommandSpec = {
  name: "context",
  summary: "List what a build would send from a context directory, or hash it",
  usage: "context [-f FILE] [--hash] DIR",
  options: {
    file: { type: "string", short: "f", valueName: "FILE", description: "the Dockerfile (its FILE.dockerignore wins over .dockerignore)" },
    hash: { type: "boolean", description: "print the content digest of the whole context (uses the store's file-hash cache)" },
  },
  details: "Paths are listed in build order, one per line (directories end in /), followed by the number of files and bytes.",
  minPositionals: 1,
  maxPositionals: 1,
};

export async function run(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const dir = ctx.positionals[0]!;
  const abs = (p: string) => (isAbsolute(p) ? p : join(io.cwd, p));
  const file = typeof ctx.values.file === "string" ? abs(ctx.values.file) : undefined;
  const c = await openContext(abs(dir), {
    ...(file ? { dockerfile: file } : {}),
    ...(ctx.values.hash ? { cacheDir: join(ctx.root, "file-hashes") } : {}),
    signal: io.signal,
  });
  try {
    if (ctx.values.hash) {
      const h = await c.hashAll();
      io.stdout.write(`${h.digest}\n`);
      return 0;
    }
    let files = 0;
    let bytes = 0;
    const out: string[] = [];
    for (const e of c.entries) {
      out.push(e.type === "dir" ? `${e.path}/` : e.type === "symlink" ? `${e.path} -> ${e.linkTarget}` : e.path);
      if (e.type !== "dir") files++;
      if (e.type === "file") bytes += e.size;
    }
    out.push(`${files} file${files === 1 ? "" : "s"}, ${bytes} bytes`);
    io.stdout.write(out.join("\n") + "\n");
    return 0;
  } finally {
    await c.close();
  }
}
