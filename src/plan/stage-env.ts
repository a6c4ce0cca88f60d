// plan/stage-env.ts: the variables of one stage while it is planned — the image config's
// `Env` list and the map words are expanded with (the stage's ARG values overlaid by that
// Env: ENV always wins over an ARG of the same name). Both are kept up to date one change
// at a time, so planning N ARG/ENV lines costs O(N) map updates, not N rebuilt lists.
// It also keeps the digests a RUN key holds instead of the environment itself (keyDigests),
// updated per change in O(log n), and O(1) snapshots steps read the values from later.
import { MerkleList, type Digest } from "../util/index.js";
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

const entryText = (text: string): string => {
  const e = parseEnvEntry(text);
  return `${e.key}=${e.value}`;
};

export class StageEnv {
  private readonly words = new Map<string, string>();
  /** The config's `Env`: replaced by a new log when rebuilt, since step snapshots share it. */
  private log: ListLog<string>;
  /** key → position of its first entry in `list` (where setEnv replaces it). */
  private readonly first = new Map<string, number>();
  /** key → value of its last entry in `list` (what a lookup sees). */
  private readonly values = new Map<string, string>();
  /** Keys a base image's Env repeats: setting one drops the repeats, the slow way. */
  private readonly repeated = new Set<string>();
  /** The digest of `list` (entries as `K=V`). */
  private envTree!: MerkleList;
  /** The digest of the ARGs in RUN's key: declared, with a value, not a proxy, not set by Env. */
  private argTree!: MerkleList;
  /** The ArgScope positions of the ARGs in `argTree`, ascending (argTree's order). */
  private argSlots: number[] = [];

  constructor(env: readonly string[], private readonly args: ArgScope) {
    this.log = new ListLog(env);
    this.index(env);
  }

  /** Whether an ARG enters RUN's key (runEnv's rule: the Env wins, proxies never count). */
  private keyedArg(a: ArgValue): boolean {
    return a.value !== undefined && !PROXY_ARGS.has(a.key) && !this.values.has(a.key);
  }

  private indexArgs(): void {
    const declared = this.args.declared();
    this.argSlots = [];
    const texts: string[] = [];
    declared.forEach((a, i) => {
      if (!this.keyedArg(a)) return;
      this.argSlots.push(i);
      texts.push(`${a.key}=${a.value!}`);
    });
    this.argTree = new MerkleList(texts);
  }

  /** The ARG at ArgScope position `slot` changed (or the Env took its name): update argTree. */
  private updateArg(slot: number, a: ArgValue): void {
    const slots = this.argSlots;
    let lo = 0;
    let hi = slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (slots[mid]! < slot) lo = mid + 1;
      else hi = mid;
    }
    const present = slots[lo] === slot;
    if (this.keyedArg(a)) {
      const text = `${a.key}=${a.value!}`;
      if (present) this.argTree.set(lo, text);
      else {
        slots.splice(lo, 0, slot);
        this.argTree.splice(lo, 0, text);
      }
    } else if (present) {
      slots.splice(lo, 1);
      this.argTree.splice(lo, 1);
    }
  }

  /** Rebuild every index from `list`, the Env as it stands. */
  private index(list: readonly string[]): void {
    this.first.clear();
    this.values.clear();
    this.repeated.clear();
    list.forEach((text, i) => {
      const e = parseEnvEntry(text);
      if (this.first.has(e.key)) this.repeated.add(e.key);
      else this.first.set(e.key, i);
      this.values.set(e.key, e.value);
    });
    this.words.clear();
    for (const [k, v] of this.args.values()) this.words.set(k, v);
    for (const [k, v] of this.values) this.words.set(k, v);
    this.envTree = new MerkleList(list.map(entryText));
    this.indexArgs();
  }

  /** A reader of the config's `Env` list as it stands (built on first read: see ListLog). */
  envReader(): () => readonly string[] {
    return this.log.reader();
  }

  /**
   * What words are expanded with at this point. Live: it changes with the next ARG or ENV,
   * so an instruction reads it before changing the stage (all of its words see the
   * environment from before it, as in BuildKit).
   */
  wordEnv(): ReadonlyMap<string, string> {
    return this.words;
  }

  /** The digests of the environment as it stands (O(log n) after a change, then memoised). */
  keyDigests(): EnvDigests {
    return { env: this.envTree.digest(), args: this.argTree.digest() };
  }

  /** How many entries the config's `Env` has. */
  envLength(): number {
    return this.log.length;
  }

  /** How many `K=V` entries the digests cover (Env entries and keyed ARGs). */
  keyedCount(): number {
    return this.envTree.length + this.argTree.length;
  }

  /** The environment as it stands, to be read at once (before the next ARG or ENV). */
  now(): EnvSnapshot {
    return { env: this.log.reader(), args: () => this.args.declared() };
  }

  /** The environment as it stands, for reading later: O(1) to take. */
  snapshot(): EnvSnapshot {
    return { env: this.log.reader(), args: this.args.snapshot() };
  }

  /** `ARG key[=default]` in this stage (see {@link ArgScope.declare}). */
  declareArg(key: string, defaultValue: string | undefined, buildArgs: BuildArgs): ArgValue {
    const a = this.args.declare(key, defaultValue, buildArgs);
    if (!this.values.has(key)) {
      if (a.value === undefined) this.words.delete(key);
      else this.words.set(key, a.value);
    }
    this.updateArg(this.args.position(key)!, a);
    return a;
  }

  /**
   * `ENV k=v …`: each pair replaces its key where it stands (dropping repeats) or is
   * appended, as {@link setEnv} does. The config's `Env` reads the result (envReader).
   */
  setEnv(pairs: readonly { key: string; value: string }[]): void {
    if (pairs.some((p) => p.key.includes("=") || this.repeated.has(p.key))) {
      // Rare: a key a base image's Env repeats, or one that re-parses differently (`a=b`):
      // the whole instruction the slow way, then the indexes are rebuilt.
      let parsed = parseEnvList(this.log.reader()());
      for (const p of pairs) parsed = setEnv(parsed, p.key, p.value);
      const list = formatEnvList(parsed);
      this.log = new ListLog<string>(list);
      this.index(list);
      return;
    }
    for (const { key, value } of pairs) {
      const i = this.first.get(key);
      const text = `${key}=${value}`;
      this.values.set(key, value);
      this.words.set(key, value);
      if (i !== undefined) {
        this.log.write(i, text);
        this.envTree.set(i, text);
      } else {
        this.first.set(key, this.log.length);
        this.log.write(this.log.length, text);
        this.envTree.push(text);
        // The Env now sets this name: an ARG of the same name leaves RUN's key.
        const slot = this.args.position(key);
        if (slot !== undefined) this.updateArg(slot, this.args.declared()[slot]!);
      }
    }
  }
}
