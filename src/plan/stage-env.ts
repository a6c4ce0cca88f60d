// plan/stage-env.ts: the variables of one stage while it is planned — the image config's
// `Env` list and the map words are expanded with (the stage's ARG values overlaid by that
// Env: ENV always wins over an ARG of the same name). Both are kept up to date one change
// at a time, so planning N ARG/ENV lines costs O(N) map updates, not N rebuilt lists.
import { parseEnvEntry, parseEnvList, setEnv, formatEnvList } from "../shell/index.js";
import type { ArgScope, ArgValue, BuildArgs } from "./args.js";

export class StageEnv {
  private readonly words = new Map<string, string>();
  /** The config's `Env`: replaced (never mutated) on change, since step snapshots share it. */
  private list: readonly string[];
  /** key → position of its first entry in `list` (where setEnv replaces it). */
  private readonly first = new Map<string, number>();
  /** key → value of its last entry in `list` (what a lookup sees). */
  private readonly values = new Map<string, string>();
  /** Keys a base image's Env repeats: setting one drops the repeats, the slow way. */
  private readonly repeated = new Set<string>();

  constructor(env: readonly string[], private readonly args: ArgScope) {
    this.list = env;
    this.index();
  }

  private index(): void {
    this.first.clear();
    this.values.clear();
    this.repeated.clear();
    this.list.forEach((text, i) => {
      const e = parseEnvEntry(text);
      if (this.first.has(e.key)) this.repeated.add(e.key);
      else this.first.set(e.key, i);
      this.values.set(e.key, e.value);
    });
    this.words.clear();
    for (const [k, v] of this.args.values()) this.words.set(k, v);
    for (const [k, v] of this.values) this.words.set(k, v);
  }

  /** The config's `Env` list as it stands. */
  get env(): readonly string[] {
    return this.list;
  }

  /**
   * What words are expanded with at this point. Live: it changes with the next ARG or ENV,
   * so an instruction reads it before changing the stage (all of its words see the
   * environment from before it, as in BuildKit).
   */
  wordEnv(): ReadonlyMap<string, string> {
    return this.words;
  }

  /** `ARG key[=default]` in this stage (see {@link ArgScope.declare}). */
  declareArg(key: string, defaultValue: string | undefined, buildArgs: BuildArgs): ArgValue {
    const a = this.args.declare(key, defaultValue, buildArgs);
    if (!this.values.has(key)) {
      if (a.value === undefined) this.words.delete(key);
      else this.words.set(key, a.value);
    }
    return a;
  }

  /**
   * `ENV k=v …`: each pair replaces its key where it stands (dropping repeats) or is
   * appended, as {@link setEnv} does. Returns the new `Env` list for the config.
   */
  setEnv(pairs: readonly { key: string; value: string }[]): readonly string[] {
    if (pairs.some((p) => p.key.includes("=") || this.repeated.has(p.key))) {
      // Rare: a key a base image's Env repeats, or one that re-parses differently (`a=b`):
      // the whole instruction the slow way, then the indexes are rebuilt.
      let parsed = parseEnvList(this.list);
      for (const p of pairs) parsed = setEnv(parsed, p.key, p.value);
      this.list = formatEnvList(parsed);
      this.index();
      return this.list;
    }
    const next = [...this.list];
    for (const { key, value } of pairs) {
      const i = this.first.get(key);
      if (i !== undefined) next[i] = `${key}=${value}`;
      else {
        this.first.set(key, next.length);
        next.push(`${key}=${value}`);
      }
      this.values.set(key, value);
      this.words.set(key, value);
    }
    this.list = next;
    return next;
  }
}
