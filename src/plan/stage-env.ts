// plan/stage-env.ts: the variables of one stage while it is planned — the image config's
// `Env` list and the map words are expanded with (the stage's ARG values overlaid by that
// Env: ENV always wins over an ARG of the same name). Both are kept up to date one change
// at a time, so planning N ARG/ENV lines costs O(N) map updates, not N rebuilt lists.
// It also keeps the digests a RUN key holds instead of the environment itself (keyDigests).
// A small environment (nearly every Dockerfile's) is a plain list, copied on change and
// hashed whole when a RUN needs it; past SMALL_ENV entries it moves for good to a change
// log with O(1) snapshots and a Merkle list updated per change in O(log n).
import { MERKLE_CHUNK, MerkleList, lowerBound, merkleDigest, type Digest } from "../util/index.js";
import { parseEnvEntry, parseEnvList, setEnv, formatEnvList } from "../shell/index.js";
import { PROXY_ARGS, type ArgScope, type ArgValue, type BuildArgs } from "./args.js";
import { ListLog } from "./log-snapshots.js"; 

/** What a RUN key holds of the environment (see RunPreimage). */
export interface EnvDigests {
  /** The config's `Env` entries, `K=V`, in order. */
  readonly env: Digest;
  /** The ARG values the Env does not set, `K=V` in declaration order, proxies out. */
  readonly args: Digest;
}

/** The variables at one point of a stage, to be read later (only when a step's details are). */
export interface EnvSnapshot {
  /** The config's `Env` list. */
  readonly env: () => readonly string[];
  /** The stage's declared ARGs at that point. */
  readonly args: () => readonly ArgValue[];
}

/**
 * Up to this many Env entries (or declared ARGs) a side of the environment is a plain list:
 * copying and hashing a list this short costs less than making a change log, a tree and
 * their snapshots per stage (which made the corpus bench 15% slower). MERKLE_CHUNK: up to
 * there the Merkle digest is a single leaf hash of the whole list anyway.
 */
export const SMALL_ENV = MERKLE_CHUNK;

/** A large Env: the log the config and step snapshots read, and the tree its digest comes from. */
interface LargeEnv {
  readonly log: ListLog<string>;
  readonly tree: MerkleList;
}

/** The keyed ARGs of a large scope: their tree, and their ArgScope positions ascending (the tree's order). */
interface LargeArgs {
  readonly tree: MerkleList;
  readonly slots: number[];
}

/** A small side's `K=V` texts as the key covers them, and their digest (kept until it changes). */
interface SmallKey {
  readonly texts: readonly string[];
  readonly digest: Digest;
}

function smallKey(texts: readonly string[]): SmallKey {
  return { texts, digest: merkleDigest(texts) };
}

/** An Env entry as `K=V` (what parseEnvEntry then formatEnvList make of it: a bare `K` is `K=`). */
const entryText = (text: string): string => (text.includes("=") ? text : `${text}=`);

export class StageEnv {
  private readonly words = new Map<string, string>();
  /** key → position of its first entry in the Env (where setEnv replaces it). */
  private readonly first = new Map<string, number>();
  /** key → value of its last entry in the Env (what a lookup sees). */
  private readonly values = new Map<string, string>();
  /** Keys a base image's Env repeats: setting one drops the repeats, the slow way. */
  private readonly repeated = new Set<string>();
  /**
   * The config's `Env` while small: replaced, never mutated, so a config can hold it as is.
   * Exactly one of `small` and `large` is set; a large Env stays large.
   */
  private small: readonly string[] | undefined;
  private large: LargeEnv | undefined;
  private envKey: SmallKey | undefined;
  /** Set once the stage declares more than SMALL_ENV ARGs; until then `argKey`. */
  private largeArgs: LargeArgs | undefined;
  private argKey: SmallKey | undefined;
  private digests: EnvDigests | undefined;
  private current: EnvSnapshot | undefined;

  constructor(env: readonly string[], private readonly args: ArgScope) {
    this.index(env);
  }

  /** An ARG or the Env changed: what was worked out from them is stale. */
  private changed(): void {
    this.digests = this.current = undefined;
  }

  /** Whether an ARG enters RUN's key (runEnv's rule: the Env wins, proxies never count). */
  private keyedArg(a: ArgValue): boolean {
    return a.value !== undefined && !PROXY_ARGS.has(a.key) && !this.values.has(a.key);
  }

  /** The keyed ARGs' `K=V` texts, in declaration order, and (if wanted) their positions. */
  private keyedArgTexts(slots?: number[]): string[] {
    const declared = this.args.declared();
    const texts: string[] = [];
    for (let i = 0; i < declared.length; i++) {
      const a = declared[i]!;
      if (!this.keyedArg(a)) continue;
      slots?.push(i);
      texts.push(`${a.key}=${a.value!}`);
    }
    return texts;
  }

  private indexLargeArgs(): LargeArgs {
    const slots: number[] = [];
    return { tree: new MerkleList(this.keyedArgTexts(slots)), slots };
  }

  /** The ARG at ArgScope position `slot` changed (or the Env took its name): update the key. */
  private updateArg(slot: number, a: ArgValue): void {
    this.changed();
    if (!this.largeArgs) {
      this.argKey = undefined;
      return;
    }
    const { tree, slots } = this.largeArgs;
    const lo = lowerBound(slots, slot);
    const present = slots[lo] === slot;
    if (this.keyedArg(a)) {
      const text = `${a.key}=${a.value!}`;
      if (present) tree.set(lo, text);
      else {
        slots.splice(lo, 0, slot);
        tree.splice(lo, 0, text);
      }
    } else if (present) {
      slots.splice(lo, 1);
      tree.splice(lo, 1);
    }
  }

  /** Rebuild every index from `list`, the Env as it stands. */
  private index(list: readonly string[]): void {
    this.first.clear();
    this.values.clear();
    this.repeated.clear();
    for (let i = 0; i < list.length; i++) {
      const e = parseEnvEntry(list[i]!);
      if (this.first.has(e.key)) this.repeated.add(e.key);
      else this.first.set(e.key, i);
      this.values.set(e.key, e.value);
    }
    this.words.clear();
    for (const [k, v] of this.args.values()) this.words.set(k, v);
    for (const [k, v] of this.values) this.words.set(k, v);
    this.setList(list);
    this.changed();
    this.argKey = undefined;
    this.largeArgs = this.args.declared().length > SMALL_ENV ? this.indexLargeArgs() : undefined;
  }

  /** Make `list` the Env (small while short, unless it was large already: the config reads that log). */
  private setList(list: readonly string[]): void {
    this.envKey = undefined;
    if (list.length > SMALL_ENV || this.large) {
      // A new log, not a rewrite of the old one: earlier steps' snapshots share that.
      this.small = undefined;
      this.large = { log: new ListLog(list), tree: new MerkleList(list.map(entryText)) };
    } else this.small = list;
  }

  /** The Env as it stands, as a list. */
  private list(): readonly string[] {
    return this.small ?? this.large!.log.reader()();
  }

  /** The Env while it is small: a list the config holds as is (see syncEnv); undefined once large. */
  smallEnv(): readonly string[] | undefined {
    return this.small;
  }

  /** A reader of the config's `Env` list as it stands (a large one is built on first read: see ListLog). */
  envReader(): () => readonly string[] {
    if (this.large) return this.large.log.reader();
    const list = this.small!;
    return () => list;
  }

  /**
   * What words are expanded with at this point. Live: it changes with the next ARG or ENV,
   * so an instruction reads it before changing the stage (all of its words see the
   * environment from before it, as in BuildKit).
   */
  wordEnv(): ReadonlyMap<string, string> {
    return this.words;
  }

  private smallEnvKey(): SmallKey {
    return (this.envKey ??= smallKey(this.small!.map(entryText)));
  }

  private smallArgKey(): SmallKey {
    return (this.argKey ??= smallKey(this.keyedArgTexts()));
  }

  /** The digests of the environment as it stands (computed on the first call after a change). */
  keyDigests(): EnvDigests {
    return (this.digests ??= {
      env: this.large ? this.large.tree.digest() : this.smallEnvKey().digest,
      args: this.largeArgs ? this.largeArgs.tree.digest() : this.smallArgKey().digest,
    });
  }

  /** How many `K=V` entries the digests cover (Env entries and keyed ARGs). */
  keyedCount(): number {
    const env = this.large ? this.large.tree.length : this.small!.length;
    return env + (this.largeArgs ? this.largeArgs.tree.length : this.smallArgKey().texts.length);
  }

  /**
   * The environment as it stands, for reading later: O(1) to take, and the same object until
   * the next ARG or ENV, so what is worked out from it is kept for every RUN in between.
   */
  snapshot(): EnvSnapshot {
    return (this.current ??= { env: this.envReader(), args: this.args.snapshot() });
  }

  /** `ARG key[=default]` in this stage (see {@link ArgScope.declare}). */
  declareArg(key: string, defaultValue: string | undefined, buildArgs: BuildArgs): ArgValue {
    const a = this.args.declare(key, defaultValue, buildArgs);
    if (!this.values.has(key)) {
      if (a.value === undefined) this.words.delete(key);
      else this.words.set(key, a.value);
    }
    if (!this.largeArgs && this.args.declared().length > SMALL_ENV) {
      this.largeArgs = this.indexLargeArgs();
      this.changed();
      this.argKey = undefined;
    } else this.updateArg(this.args.position(key)!, a);
    return a;
  }

  /**
   * `ENV k=v …`: each pair replaces its key where it stands (dropping repeats) or is
   * appended, as {@link setEnv} does. The config's `Env` reads the result (see syncEnv).
   */
  setEnv(pairs: readonly { key: string; value: string }[]): void {
    if (pairs.some((p) => p.key.includes("=") || this.repeated.has(p.key))) {
      // Rare: a key a base image's Env repeats, or one that re-parses differently (`a=b`):
      // the whole instruction the slow way, then the indexes are rebuilt.
      let parsed = parseEnvList(this.list());
      for (const p of pairs) parsed = setEnv(parsed, p.key, p.value);
      this.index(formatEnvList(parsed));
      return;
    }
    this.changed();
    if (this.small) {
      const next = this.small.slice();
      this.applyPairs(pairs, next.length, (i, text) => (next[i] = text));
      this.setList(next);
    } else {
      const { log, tree } = this.large!;
      this.applyPairs(pairs, log.length, (i, text) => {
        log.write(i, text);
        if (i < tree.length) tree.set(i, text);
        else tree.push(text);
      });
    }
  }

  /**
   * Record `pairs` in the indexes and hand each entry to `write(i, text)`: at its key's first
   * place, or appended to the Env of `length` entries (`i` = the length so far).
   */
  private applyPairs(pairs: readonly { key: string; value: string }[], length: number, write: (i: number, text: string) => void): void {
    for (const { key, value } of pairs) {
      this.values.set(key, value);
      this.words.set(key, value);
      let i = this.first.get(key);
      if (i === undefined) {
        i = length++;
        this.first.set(key, i);
        this.envTakes(key);
      }
      write(i, `${key}=${value}`);
    }
  }

  /** The Env now sets `key`: an ARG of the same name leaves RUN's key. */
  private envTakes(key: string): void {
    const slot = this.args.position(key);
    if (slot !== undefined) this.updateArg(slot, this.args.declared()[slot]!);
  }
}
