// plan/ports.ts: the facts the planner needs from the outside world, as small async
// interfaces (BuildKit's ImageMetaResolver idea). build/ implements them with store,
// registry and context; tests implement them with in-memory maps. Pure types only.
import type { Digest } from "../util/index.js";
import type { ContainerConfig, HistoryEntry, Platform } from "../image/index.js";

/** What a base image reference resolves to. */
export interface ResolvedImage {
  /** The normalised reference (`docker.io/library/alpine:3.20`). */
  readonly ref: string;
  /** The manifest digest: the FROM step's cache key is built from it. */
  readonly digest: Digest;
  /** The image config's `config` section (Env, Cmd, OnBuild, …); `{}` when the image has none. */
  readonly config: ContainerConfig;
  /** The image's history, inherited by stages built on it (optional). */
  readonly history?: readonly HistoryEntry[];
  readonly platform: Platform;
}

/**
 * Resolves a base image reference (FROM, COPY --from=<image>, RUN --mount from=<image>).
 * `ref` is the reference as written after ARG expansion (not yet normalised).
 * MUST return `undefined` for an image it does not know (the planner then keys the step by
 * the reference's name alone and warns), and MAY throw a TbuildError for a real failure
 * (a registry refusing credentials, a corrupt store); the planner lets that propagate.
 */
export interface BaseImageResolver {
  resolve(ref: string, platform: Platform): Promise<ResolvedImage | undefined>;
}

/** A selection of build-context paths, as a COPY/ADD (or a bind mount) names them. */
export interface SourceRequest {
  /** Sources as written after expansion, relative to the context root (`.`, `src/*.ts`). */
  readonly sources: readonly string[];
  /** COPY --exclude patterns. */
  readonly exclude: readonly string[];
  /** COPY --parents: keep each source's path below the context root. */
  readonly parents: boolean;
  /** Resolve a symlink named by a source itself (BuildKit's FollowPaths); true for COPY/ADD. */
  readonly followPaths: boolean;
}

/** The content hash of a selection. */
export interface SourceHash {
  /** Covers every selected file's path, type, mode, owner, size, link target and bytes (DESIGN.md). */
  readonly digest: Digest;
  /**
   * Per selected file (context-relative path) a digest of its record (content and metadata),
   * used only to explain a cache miss: two hashes are compared file by file.
   */
  readonly files: Readonly<Record<string, Digest>>;
}

/**
 * Hashes selections of the build context. MUST throw TbuildError(E_COPY_NO_SOURCE) when a
 * non-wildcard source selects nothing and E_CONTEXT_ESCAPE for a path leaving the context.
 */
export interface SourceHasher {
  hash(request: SourceRequest): Promise<SourceHash>;
}
