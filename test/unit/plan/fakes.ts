// In-memory ports for planner tests: a resolver over a map of images and a hasher over a
// map of context files (content and mode), so keys react to bytes and mode bits.
import { TbuildError, hashPreimage, sha256Digest, type Digest } from "../../../src/util/index.js";
import { normalizeReference, type ContainerConfig, type HistoryEntry } from "../../../src/image/index.js";
import type { BaseImageResolver, ResolvedImage, SourceHash, SourceHasher, SourceRequest } from "../../../src/plan/index.js";

export interface FakeImage {
  readonly digest?: string;
  readonly config?: ContainerConfig;
  readonly history?: readonly HistoryEntry[];
}

export type FakeFile = string | { readonly content: string; readonly mode?: number };

export class FakeResolver implements BaseImageResolver {
  readonly calls: string[] = [];
  private readonly images = new Map<string, FakeImage>();

  constructor(images: Readonly<Record<string, FakeImage>> = {}) {
    for (const [ref, img] of Object.entries(images)) this.images.set(normalizeReference(ref), img);
  }

  async resolve(ref: string): Promise<ResolvedImage | undefined> {
    this.calls.push(ref);
    const norm = normalizeReference(ref);
    const img = this.images.get(norm);
    if (!img) return undefined;
    return {
      ref: norm,
      digest: (img.digest ?? sha256Digest(`image:${norm}`)) as Digest,
      config: img.config ?? {},
      ...(img.history ? { history: img.history } : {}),
      platform: { os: "linux", architecture: "amd64" },
    };
  }
}

function globToRe(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*\*/g, "\u0000").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]").replace(/\u0000/g, ".*");
  return new RegExp(`^${re}$`);
}

export class FakeHasher implements SourceHasher {
  readonly requests: SourceRequest[] = [];

  constructor(private readonly files: Readonly<Record<string, FakeFile>> = {}) {}

  private record(path: string): Digest {
    const f = this.files[path]!;
    const content = typeof f === "string" ? f : f.content;
    const mode = typeof f === "string" ? 0o644 : (f.mode ?? 0o644);
    return hashPreimage("fake.file", { path, mode, content: sha256Digest(content) });
  }

  async hash(req: SourceRequest): Promise<SourceHash> {
    this.requests.push(req);
    const all = Object.keys(this.files).sort();
    const picked = new Set<string>();
    for (const raw of req.sources) {
      const src = raw.replace(/^\.\//, "").replace(/\/$/, "");
      let matched: string[];
      if (src === "." || src === "") matched = all;
      else if (/[*?[]/.test(src)) matched = all.filter((p) => globToRe(src).test(p));
      else matched = all.filter((p) => p === src || p.startsWith(`${src}/`));
      if (matched.length === 0 && !/[*?[]/.test(src)) {
        throw new TbuildError("E_COPY_NO_SOURCE", `${raw}: not found in the build context`);
      }
      for (const p of matched) picked.add(p);
    }
    const excluded = req.exclude.map(globToRe);
    const files: Record<string, Digest> = {};
    // Exclude patterns match a path relative to its selected root: try every suffix.
    const suffixes = (p: string): string[] => p.split("/").map((_, i, parts) => parts.slice(i).join("/"));
    for (const p of [...picked].sort()) if (!excluded.some((re) => suffixes(p).some((x) => re.test(x)))) files[p] = this.record(p);
    return { digest: hashPreimage("fake.selection", { sources: req.sources, parents: req.parents, files }), files };
  }
}

export const HOST = { os: "linux", architecture: "amd64" } as const;
