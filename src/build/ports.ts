// build/ports.ts: the planner's ports implemented over the world: base images from the
// store (pulled from their registry when missing, unless offline), and COPY source hashes
// from the build context with its persistent file-hash cache.
import type { Digest } from "../util/index.js";
import { formatReference, parseReference, type Platform } from "../image/index.js";
import type { BuildContext, FileRecord, HashedFile, Selection } from "../context/index.js";
import type { Store, StoredImage } from "../store/index.js";
import { findOrPullBase, type PullBaseOptions } from "./pull-base.js";
import type { BaseImageResolver, ResolvedImage, SourceHash, SourceHasher, SourceRequest } from "../plan/index.js";

/** pull: what the store lacks (off for --dry-run); always: `--pull` (see pull-base.ts). */
export type ResolverOptions = PullBaseOptions;

/** Base images from the store; what the store lacks is pulled (DESIGN.md "Beyond one machine"). */
export class StoreImageResolver implements BaseImageResolver {
  /** Resolved images by normalised reference: the solver reads their layers. */
  readonly images = new Map<string, StoredImage>();

  constructor(private readonly store: Store, private readonly opts: ResolverOptions) {}

  async resolve(ref: string, platform: Platform): Promise<ResolvedImage | undefined> {
    const norm = formatReference(parseReference(ref));
    const img = await findOrPullBase(this.store, norm, platform, this.opts);
    if (!img) return undefined;
    this.images.set(norm, img);
    return {
      ref: norm,
      digest: img.manifestDigest,
      config: img.config.config ?? {},
      ...(img.config.history ? { history: img.config.history } : {}),
      platform: { os: img.config.os, architecture: img.config.architecture, ...(img.config.variant ? { variant: img.config.variant } : {}) },
    };
  }
}

/** COPY source hashes over the build context; selections are kept for the executor. */
export class ContextHasher implements SourceHasher {
  readonly selections = new Map<string, Selection>();

  constructor(private readonly context: BuildContext) {}

  static requestKey(r: { sources: readonly string[]; exclude: readonly string[]; parents: boolean }): string {
    return JSON.stringify([r.sources, r.exclude, r.parents]);
  }

  async hash(request: SourceRequest): Promise<SourceHash> {
    const sel = this.context.select(request.sources, { followSymlinks: request.followPaths, parents: request.parents, excludes: request.exclude });
    this.selections.set(ContextHasher.requestKey(request), sel);
    const h = await this.context.hashSelection(sel);
    return { digest: h.digest, files: fileTokens(h.files) };
  }
}

/** path → recordToken of a selection's files, as a plain object (last one wins). */
function tokenObject(files: readonly HashedFile[]): Record<string, Digest> {
  const out: Record<string, Digest> = {};
  for (const f of files) out[f.path] = recordToken(f.record);
  return out;
}

/**
 * The per-file tokens of a selection, built only when a value is read. A cached build only
 * counts them (the step summary's `Object.keys(files).length`); values are read to explain
 * a miss or to write a changed plan record. A read-only Proxy: `ownKeys` lists the paths,
 * `getOwnPropertyDescriptor` answers enumerability for Object.keys without building a
 * token, and every read (get, has, entries, JSON) goes to the plain object, built once.
 * Proxies require unique keys: paths in strictly increasing order prove it, anything else
 * (several overlapping roots, unsorted paths) gets the plain object up front, as does a
 * selection with an all-digit path (a plain object lists those keys first, by number).
 */
function fileTokens(files: readonly HashedFile[]): Readonly<Record<string, Digest>> {
  for (let i = 0; i < files.length; i++) {
    const p = files[i]!.path;
    if (i > 0 && !(files[i - 1]!.path < p)) return tokenObject(files);
    const c = p.charCodeAt(0);
    if (c >= 48 && c <= 57 && /^\d+$/.test(p)) return tokenObject(files); // an index key: a plain object lists those first
  }
  let real: Record<string, Digest> | undefined;
  const plain = (): Record<string, Digest> => (real ??= tokenObject(files));
  let keys: string[] | undefined;
  let next = 0; // Object.keys asks for descriptors in ownKeys order
  const readOnly = (): boolean => false;
  return new Proxy<Record<string, Digest>>({}, {
    ownKeys: () => {
      next = 0;
      return (keys ??= files.map((f) => f.path));
    },
    getOwnPropertyDescriptor: (_t, p) => {
      if (real === undefined && typeof p === "string" && files[next]?.path === p) {
        next++;
        return { configurable: true, enumerable: true, get: () => plain()[p] };
      }
      const d = Object.getOwnPropertyDescriptor(plain(), p);
      return d ? { configurable: true, enumerable: true, writable: false, value: d.value as unknown } : undefined;
    },
    get: (_t, p) => Reflect.get(plain(), p) as unknown,
    has: (_t, p) => Reflect.has(plain(), p),
    set: readOnly,
    defineProperty: readOnly,
    deleteProperty: readOnly,
    setPrototypeOf: readOnly,
    preventExtensions: readOnly,
  });
}

/**
 * A per-file token for explanations: equal exactly when the file's content digest, type,
 * mode, size and link target are (the fields a context record can differ in; owners are
 * always 0:0). Built without hashing: 20,000 files cost no measurable time. Only ever
 * compared for equality, never used as a key.
 */
function recordToken(r: FileRecord): Digest {
  return `${r.contentDigest ?? "sha256:"}/${r.type}/${r.mode.toString(8)}/${r.size}/${r.linkTarget ?? ""}/${r.devMajor ?? ""}:${r.devMinor ?? ""}` as Digest;
}
