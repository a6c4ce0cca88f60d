// build/ports.ts: the planner's ports implemented over the world: base images from the
// store (pulled from their registry when missing, unless offline), and COPY source hashes
// from the build context with its persistent file-hash cache.
import type { Digest } from "../util/index.js";
import { formatReference, parseReference, type Platform } from "../image/index.js";
import type { BuildContext, FileRecord, Selection } from "../context/index.js";
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
    const files: Record<string, Digest> = {};
    for (const f of h.files) files[f.path] = recordToken(f.record);
    return { digest: h.digest, files };
  }
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
