// build/copy.ts: what a COPY / ADD puts in its layer, as tar entries (entries-layer.ts):
// sources from the context (through src/context's selection), from a stage or image
// rootfs (--from), heredocs, URLs (with --checksum) and local archives ADD unpacks (through
// exec's safe extraction). Destination rules follow Docker: a trailing slash or an existing
// directory means "into", a directory source copies its contents, missing parents are
// created (owned by --chown), existing parents keep their metadata. The parent and --from
// file systems are RootViews: a snapshot on disk, or the layer tars read in place. ADD
// unpacks a local archive unless --unpack=false; a URL only with --unpack.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { join, posix } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TbuildError, resolveInRoot, type Digest } from "../util/index.js";
import { hasWildcards, type BuildContext, type Selection } from "../context/index.js";
import type { TarEntryType } from "../exec/index.js";
import type { CopySource, CopyStep } from "../plan/index.js";
import type { LayerEntry } from "./entries-layer.js";
import { HostRootView, type RootStat, type RootView } from "./root-view.js";
import { resolveUser } from "./users.js";

export interface CopyInput {
  readonly step: CopyStep;
  /** The build context (for context sources). */
  readonly context?: BuildContext;
  /** A selection made earlier for the same sources (the hasher's), reused when given. */
  readonly selection?: Selection;
  /** The parent rootfs: parents' metadata, existing-directory checks, --chown names. Undefined for scratch or --link. */
  readonly parent?: RootView;
  /** The rootfs of the --from stage or image. */
  readonly source?: RootView;
  /** A folder for downloads and unpacked archives (removed by the caller). */
  readonly scratch: string;
  /** Build time in seconds (mtime of created directories). */
  readonly now: number;
  readonly signal?: AbortSignal;
  /** Status lines (`downloading …`). */
  readonly log?: (line: string) => void;
  /** fetch, injectable for tests. */
  readonly fetch?: typeof fetch;
}

interface Owner { uid: number; gid: number }

/** One entry found below a source root in a root view. */
interface FoundEntry extends RootStat {
  /** Relative to the source root ("" = the root itself). */
  readonly rel: string;
  /** Relative to the view's root. */
  readonly at: string;
  readonly view: RootView;
  readonly linkname?: string;
}

const strip = (p: string): string => p.replace(/^\/+|\/+$/g, "");
const joinRel = (...parts: string[]): string => parts.filter((p) => p !== "").join("/");

/** Parse `--chmod` (octal only, as the classic builder; BuildKit's symbolic form is refused clearly). */
function parseChmod(s: string): number {
  if (!/^[0-7]{3,4}$/.test(s)) throw new TbuildError("E_PARSE_BAD_FLAG", `invalid --chmod value ${JSON.stringify(s)}`, { hint: "give octal permission bits, e.g. --chmod=0755" });
  return parseInt(s, 8);
}

/** The entries of the layer a COPY / ADD step writes. */
export async function copyEntries(input: CopyInput): Promise<LayerEntry[]> {
  const { step } = input;
  const kw = step.kind.toUpperCase();
  const parent = input.parent;
  const owner: Owner | undefined = step.chown ? await resolveUser(step.chown, parent, `${kw} --chown`) : undefined;
  const chmod = step.chmod ? parseChmod(step.chmod) : undefined;
  // Docker and BuildKit resolve the destination through the image's own symlinks, scoped to
  // its root: the file lands where the link points, and the link stays as it is.
  const destRel = parent !== undefined ? await resolveDest(parent, strip(step.dest), step.dest.endsWith("/"), kw, step.dest) : strip(step.dest);
  const destIsDir = step.dest.endsWith("/") || destRel === "" || (parent !== undefined && (await parent.lstat(destRel))?.type === "dir");
  const out: LayerEntry[] = [];
  const meta = (e: { mode: number; uid: number; gid: number; type: TarEntryType }): { mode: number; uid: number; gid: number } => ({
    mode: chmod !== undefined && e.type !== "symlink" ? chmod : e.mode,
    uid: owner ? owner.uid : e.uid,
    gid: owner ? owner.gid : e.gid,
  });
  /** Where a source root lands: `name` "" = a directory's contents go into the destination. */
  const baseFor = (name: string, isDirRoot: boolean): string => {
    if (name === "") return destRel;
    if (isDirRoot || destIsDir) return joinRel(destRel, name);
    return destRel;
  };
  const addFound = async (found: readonly FoundEntry[], base: string): Promise<void> => {
    for (const f of found) {
      const path = f.rel === "" ? base : joinRel(base, f.rel);
      if (path === "") continue;
      out.push({ path, type: f.type, ...meta(f), mtime: f.mtime, size: f.type === "file" ? f.size : 0, ...(f.type === "file" ? await f.view.fileBytes(f.at, f) : {}), ...(f.linkname !== undefined ? { linkname: f.linkname } : {}) });
    }
  };

  /** ADD's unpacking: extract a local archive into scratch and add its entries at the destination. */
  const addArchive = async (file: string): Promise<void> => {
    const dir = await mkdtemp(join(input.scratch, "add-"));
    await (await import("../exec/index.js")).extractTar(createReadStream(file), dir, { whiteouts: "keep", preserveOwners: true, ...(input.signal ? { signal: input.signal } : {}) });
    await addFound(await walkView(new HostRootView(dir), ""), destRel);
  };

  const contextPaths = step.sources.filter((s): s is Extract<CopySource, { kind: "context" }> => s.kind === "context").map((s) => s.path);
  if (contextPaths.length > 0) {
    const ctx = input.context;
    if (!ctx) throw new TbuildError("E_INTERNAL", "a context source without a context");
    const sel = input.selection ?? ctx.select(contextPaths, { followSymlinks: true, parents: step.parents, excludes: step.exclude });
    for (const root of sel.roots) {
      if (step.kind === "add" && step.unpack !== false && root.type === "file" && (await isArchive(join(ctx.root, root.path)))) {
        await addArchive(join(ctx.root, root.path));
        continue;
      }
      const cut = root.path === "" ? 0 : root.path.length + 1;
      const base = baseFor(root.destName, root.type === "dir");
      for (const e of root.entries) {
        const rel = e.path === root.path ? "" : e.path.slice(cut);
        const path = rel === "" ? base : joinRel(base, rel);
        if (path === "") continue;
        const type = tarType(e.type);
        if (type === undefined) continue;
        const mtime = e.stamp ? Number(e.stamp.mtimeNs / 1_000_000_000n) : input.now;
        out.push({
          path, type, ...meta({ mode: e.mode, uid: 0, gid: 0, type }), mtime, size: type === "file" ? e.size : 0,
          ...(type === "file" ? { source: join(ctx.root, e.path) } : {}),
          ...(e.linkTarget !== undefined ? { linkname: e.linkTarget } : {}),
          ...(e.devMajor !== undefined ? { devmajor: e.devMajor, devminor: e.devMinor ?? 0 } : {}),
        });
      }
    }
  }

  for (const src of step.sources) {
    switch (src.kind) {
      case "context":
        break;
      case "stage":
      case "image": {
        if (!input.source) throw new TbuildError("E_INTERNAL", `${kw} --from without a source rootfs`);
        const roots = await selectInRootfs(input.source, src.path);
        if (roots.length === 0) throw new TbuildError("E_COPY_NO_SOURCE", `${kw} failed: ${src.path}: no such file or directory in the source stage or image`, { hint: "check the path in the --from stage" });
        for (const r of roots) await addFound(await walkView(input.source, r.at), baseFor(r.type === "dir" ? "" : r.name, false));
        break;
      }
      case "heredoc": {
        const content = Buffer.from(src.content, "utf8");
        const path = destIsDir ? joinRel(destRel, src.name) : destRel;
        out.push({ path, type: "file", ...meta({ mode: 0o644, uid: 0, gid: 0, type: "file" }), mtime: input.now, size: content.length, content });
        break;
      }
      case "url": {
        const got = await download(src.url, input, step.checksum);
        if (step.unpack === true && (await isArchive(got.file))) {
          await addArchive(got.file);
          break;
        }
        const path = destIsDir ? joinRel(destRel, got.name) : destRel;
        // Docker: a downloaded file is 0600 unless --chmod says otherwise.
        out.push({ path, type: "file", ...meta({ mode: 0o600, uid: 0, gid: 0, type: "file" }), mtime: got.mtime ?? input.now, size: got.size, source: got.file });
        break;
      }
      case "git":
        throw new TbuildError("E_PLAN_INVALID", `ADD of a git repository is not supported: ${src.url}`, { hint: "clone it in a RUN, or add the files to the context" });
    }
  }

  // Parents of every entry: kept as they are in the parent rootfs, else created 0755.
  const have = new Set(out.map((e) => e.path));
  const parents: LayerEntry[] = [];
  for (const e of out) {
    const parts = e.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join("/");
      if (have.has(p)) continue;
      have.add(p);
      parents.push(await parentEntry(p, parent, owner, input.now));
    }
  }
  if (destIsDir && destRel !== "" && !have.has(destRel)) parents.push(await parentEntry(destRel, parent, owner, input.now));
  return [...parents, ...out];
}

async function parentEntry(path: string, rootfs: RootView | undefined, owner: Owner | undefined, now: number): Promise<LayerEntry> {
  if (rootfs !== undefined) {
    const st = await rootfs.lstat(path);
    if (st?.type === "dir") return { path, type: "dir", mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtime, size: 0 };
  }
  return { path, type: "dir", mode: 0o755, uid: owner?.uid ?? 0, gid: owner?.gid ?? 0, mtime: now, size: 0 };
}

function tarType(t: string): TarEntryType | undefined {
  switch (t) {
    case "file": return "file";
    case "dir": return "dir";
    case "symlink": return "symlink";
    case "fifo": return "fifo";
    case "char-device": return "char";
    case "block-device": return "block";
    default: return undefined; // sockets cannot be archived
  }
}

/** gzip magic, or `ustar` at offset 257: what Docker's ADD unpacks. */
async function isArchive(file: string): Promise<boolean> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    if (bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return true;
    return bytesRead >= 262 && buf.subarray(257, 262).toString("latin1") === "ustar";
  } finally {
    await fh.close();
  }
}

/** Walk a view below `at` with lstat (sorted, depth first). A directory root is copied as its contents (no entry of its own). */
async function walkView(view: RootView, at: string): Promise<FoundEntry[]> {
  const out: FoundEntry[] = [];
  const visit = async (a: string, r: string): Promise<void> => {
    const st = await view.lstat(a);
    if (st === undefined) return; // gone, or a socket (tar cannot hold one)
    if (r !== "" || st.type !== "dir") out.push({ ...st, rel: r, at: a, view, ...(st.type === "symlink" ? { linkname: await view.readlink(a) } : {}) });
    if (st.type === "dir") for (const n of (await view.readdir(a)).sort()) await visit(joinRel(a, n), r === "" ? n : `${r}/${n}`);
  };
  await visit(at, "");
  return out;
}

/** A glob component to a RegExp (`*`, `?`, `[...]`). */
function globRe(part: string): RegExp {
  let re = "^";
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const j = part.indexOf("]", i + 1);
      if (j < 0) re += "\\[";
      else {
        re += `[${part.slice(i + 1, j).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = j;
      }
    } else if (c === "\\" && i + 1 < part.length) re += `\\${part[++i]}`;
    else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`${re}$`);
}

/** Resolve a --from source path (globs allowed) inside a rootfs, following a final symlink inside it. */
async function selectInRootfs(rootfs: RootView, source: string): Promise<{ at: string; name: string; type: "dir" | "other" }[]> {
  const parts = posix.normalize(`/${source}`).split("/").filter((p) => p !== "" && p !== ".");
  let cur: string[] = [""];
  for (const part of parts) {
    const next: string[] = [];
    for (const c of cur) {
      if (part === "..") next.push(c.split("/").slice(0, -1).join("/"));
      else if (hasWildcards(part)) {
        const re = globRe(part);
        const names = await rootfs.readdir(c);
        for (const n of names.sort()) if (re.test(n)) next.push(joinRel(c, n));
      } else next.push(joinRel(c, part));
    }
    cur = next;
  }
  const out: { at: string; name: string; type: "dir" | "other" }[] = [];
  for (const c of cur) {
    const real = await resolveInside(rootfs, c);
    if (real === undefined) continue;
    const st = await rootfs.lstat(real);
    if (st === undefined) continue;
    out.push({ at: real, name: posix.basename(c) || posix.basename(real), type: st.type === "dir" ? "dir" : "other" });
  }
  return out;
}

/** Follow every symlink of `rel` inside `rootfs`; undefined when it does not exist or loops. */
async function resolveInside(rootfs: RootView, rel: string): Promise<string | undefined> {
  const r = await resolveInRoot(rootfs, rel, { missing: "fail", last: "follow" });
  return r.ok ? r.path : undefined;
}

/**
 * The destination `rel` with its symlinks followed inside `rootfs` (absolute targets re-rooted
 * at the root, `..` never above it). Components that do not exist are kept as written (the
 * layer creates them). The last component is followed only when it is a symlink to a
 * directory, or when the destination ends with a slash; otherwise the entry replaces it.
 * Shared with WORKDIR (solve.ts), which always follows the last component.
 */
export async function resolveDest(rootfs: RootView, rel: string, trailingSlash: boolean, kw: string, dest: string): Promise<string> {
  const r = await resolveInRoot(rootfs, rel, { missing: "keep", last: trailingSlash ? "follow" : "if-dir" });
  if (!r.ok) throw new TbuildError("E_COPY_DEST", `${kw} failed: ${dest}: too many levels of symbolic links`, { hint: "fix the symlinks in the parent image" });
  return r.path;
}

/** Download `url` into the scratch folder, hashing as it streams; verify `checksum` when given. */
async function download(url: string, input: CopyInput, checksum: string | undefined): Promise<{ file: string; name: string; size: number; mtime?: number }> {
  const f = input.fetch ?? fetch;
  input.log?.(`downloading ${url}`);
  let res: Response;
  try {
    res = await f(url, { redirect: "follow", ...(input.signal ? { signal: input.signal } : {}) });
  } catch (e) {
    throw new TbuildError("E_FETCH", `cannot fetch ${url}: ${(e as Error).message}`, { cause: e });
  }
  if (!res.ok || !res.body) throw new TbuildError("E_FETCH", `cannot fetch ${url}: HTTP ${res.status}`, { hint: "check the URL" });
  const name = decodeURIComponent(new URL(res.url || url).pathname.split("/").filter(Boolean).pop() ?? "") || "download";
  await mkdir(input.scratch, { recursive: true });
  const dir = await mkdtemp(join(input.scratch, "url-"));
  const file = join(dir, "body");
  const hash = createHash("sha256");
  let size = 0;
  const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
  body.on("data", (c: Buffer) => {
    hash.update(c);
    size += c.length;
  });
  await pipeline(body, createWriteStream(file));
  const digest: Digest = `sha256:${hash.digest("hex")}`;
  if (checksum !== undefined) {
    const want = checksum.includes(":") ? checksum : `sha256:${checksum}`;
    if (!/^sha256:[a-f0-9]{64}$/.test(want)) {
      await rm(dir, { recursive: true, force: true });
      throw new TbuildError("E_PARSE_BAD_FLAG", `invalid --checksum ${JSON.stringify(checksum)}`, { hint: "write --checksum=sha256:<64 hex digits>" });
    }
    if (want !== digest) {
      await rm(dir, { recursive: true, force: true });
      throw new TbuildError("E_FETCH", `checksum mismatch for ${url}: expected ${want}, got ${digest}`, { hint: "the file changed or the checksum is wrong" });
    }
  }
  const lm = res.headers.get("last-modified");
  const t = lm ? Date.parse(lm) : NaN;
  return { file, name, size, ...(Number.isFinite(t) ? { mtime: Math.floor(t / 1000) } : {}) };
}
