// plan/keys.ts: cache-key preimages and their digests (DESIGN.md "Cache keys"). Each key is
// hashPreimage(tag, preimage) over a small canonical object with a `kind`; the preimage is
// stored beside the key so explain.ts can diff two of them field by field.
import { hashPreimage, type Digest } from "../util/index.js";
import type { Mount } from "../dockerfile/index.js";

/** FROM: the base manifest digest, `scratch`, an unresolved name, or the base stage's final key. */
export type FromPreimage =
  | { readonly kind: "from"; readonly scratch: true }
  | { readonly kind: "from"; readonly image: string; readonly digest: Digest }
  /** The resolver did not know the image: the key covers its normalised name only. */
  | { readonly kind: "from"; readonly image: string; readonly unresolved: true }
  /** FROM <stage>: the key IS the stage's key (not re-hashed), so both share a cache entry. */
  | { readonly kind: "from"; readonly stage: number; readonly stageKey: Digest };

/** A mount as it enters a RUN key: type, target and options (expanded); a bind source by content. */
export interface MountPreimage extends Omit<Mount, "flag" | "from"> {
  /** Stage key, image digest/name, or the context selection's content digest. */
  readonly from?: string;
}

export interface RunPreimage {
  readonly kind: "run";
  readonly parent: Digest;
  /** Shell + command text (heredoc bodies included), before variable expansion. */
  readonly argv: readonly string[];
  /**
   * The environment by digest, not by value, so a key costs the same however many variables
   * are set (each is a Merkle list digest kept up to date per change: see StageEnv). The
   * values are on the step (RunStep.keyEnv), for explanations.
   * env: the config's Env entries `K=V`, in order.
   */
  readonly env: Digest;
  /** The ARG values in scope that Env does not set, `K=V` in declaration order, proxies excluded. */
  readonly args: Digest;
  readonly cwd: string;
  readonly user: string;
  readonly mounts: readonly MountPreimage[];
  readonly network: string;
  readonly security: string;
  /** A `#!` heredoc script written to a file and run (its content is part of the definition). */
  readonly script: { readonly path: string; readonly content: string } | null;
}

export interface CopyPreimage {
  readonly kind: "copy" | "add";
  /** null with --link: the key does not depend on the steps before it. */
  readonly parent: Digest | null;
  readonly dest: string;
  readonly flags: {
    readonly chown: string | null;
    readonly chmod: string | null;
    readonly link: boolean;
    readonly parents: boolean;
    readonly exclude: readonly string[];
    readonly checksum: string | null;
    readonly unpack: boolean | null;
    readonly keepGitDir: boolean;
  };
  /** Where sources come from: `context`, or a stage key / image digest or name. */
  readonly from: string;
  /** Source paths as written (expanded), URLs, heredoc names with their content digests. */
  readonly sources: readonly string[];
  /** The content digest of exactly the selected context files (null for stage/image/url sources). */
  readonly content: Digest | null;
}

export interface WorkdirPreimage {
  readonly kind: "workdir";
  readonly parent: Digest;
  readonly path: string;
  readonly user: string;
}

/**
 * The file system after a COPY --link: its layer (keyed without the parent) laid over the
 * parent. Later steps build on this key, so they still depend on everything before.
 */
export interface MergePreimage {
  readonly kind: "merge";
  readonly parent: Digest;
  readonly layer: Digest;
}

export type KeyPreimage = FromPreimage | RunPreimage | CopyPreimage | WorkdirPreimage | MergePreimage;

/**
 * Each kind's preimage version: a change of rules bumps it, so it changes every key of the
 * kind. run 2: the environment as two digests instead of the `K=V` list.
 */
const VERSIONS: Readonly<Record<KeyPreimage["kind"], number>> = { from: 1, run: 2, copy: 1, add: 1, workdir: 1, merge: 1 };

/** The type tag of a preimage kind. */
function tagOf(kind: KeyPreimage["kind"]): string {
  return `tbuild.plan.${kind}.v${VERSIONS[kind]}`;
}

/** The cache key of a preimage. */
export function computeStepKey(p: KeyPreimage): Digest {
  if (p.kind === "from" && "stageKey" in p) return p.stageKey;
  return hashPreimage(tagOf(p.kind), p);
}
