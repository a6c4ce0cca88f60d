// plan/config-maps.ts: the config's fields that change by small steps while a stage is
// planned: the string-keyed maps (Labels, ExposedPorts, Volumes), OnBuild and Env. Every step
// carries the config after it, so copying the changed field once per instruction made N
// LABEL lines cost O(N²) property copies (5,000 lines: 4.6 s, all of it in the spread).
// Instead each field keeps the log of its changes and a snapshot holds only a reader at the
// log's length (log-snapshots.ts).
import type { ContainerConfig } from "../image/index.js";
import type { MutableConfig } from "./config.js";
import { ListLog, LogSnapshots } from "./log-snapshots.js";

export type MapName = "Labels" | "ExposedPorts" | "Volumes";
type MapValue = ContainerConfig[MapName];
type Entry = NonNullable<MapValue>[string];

/** One map: its value at the stage's start plus the (key, value) sets applied since, in order. */
class MapLog {
  private readonly keys: string[] = [];
  private readonly values: Entry[] = [];
  private readonly snapshots = new LogSnapshots((n) => this.build(n));

  constructor(private readonly base: MapValue) {}

  set(key: string, value: Entry): void {
    this.keys.push(key);
    this.values.push(value);
  }

  /** The map as it stands now, built (the way the old per-instruction copy built it) on first read. */
  reader(): () => Record<string, Entry> {
    return this.snapshots.at(this.keys.length);
  }

  private build(n: number): Record<string, Entry> {
    const o: Record<string, Entry> = { ...(this.base ?? {}) };
    for (let i = 0; i < n; i++) o[this.keys[i]!] = this.values[i]!;
    return o;
  }
}

/** A config field read through a log: `current()` gives a reader of its value as it stands. */
type Bound<T = unknown> = () => () => T;

/**
 * The logs of one stage's config. Once a field is bound to a log (a map the first time an
 * instruction touches it, Env from the start), `config[name]` becomes a read-only getter of
 * its current value (it keeps its place among the keys, so the image config's key order is
 * unchanged) and snapshots get a getter frozen at that point.
 */
export class ConfigMaps {
  private readonly logs = new Map<MapName, MapLog>();
  private readonly bound = new Map<keyof ContainerConfig, Bound>();
  private triggers: ListLog<string> | undefined;

  constructor(private readonly config: MutableConfig) {}

  /** Read `config[name]` through `current` from now on (see Bound). */
  bind<K extends keyof ContainerConfig>(name: K, current: Bound<ContainerConfig[K]>): void {
    this.bound.set(name, current);
    Object.defineProperty(this.config, name, { enumerable: true, configurable: true, get: () => current()() });
  }

  /** {@link bind}, unless `name` is bound already. */
  bindOnce<K extends keyof ContainerConfig>(name: K, current: Bound<ContainerConfig[K]>): void {
    if (!this.bound.has(name)) this.bind(name, current);
  }

  /** One instruction's change: set each key (the map exists afterwards even if `entries` is empty). */
  update(name: MapName, entries: Iterable<readonly [string, Entry]>): void {
    let log = this.logs.get(name);
    if (!log) {
      const created = new MapLog(this.config[name]);
      log = created;
      this.logs.set(name, created);
      this.bind(name, () => created.reader() as () => ContainerConfig[MapName]);
    }
    for (const [k, v] of entries) log.set(k, v);
  }

  /** `ONBUILD`: append a trigger (one log for the stage, bound on first use like a map). */
  addTrigger(expression: string): void {
    if (!this.triggers) {
      const log = new ListLog<string>(this.config.OnBuild ?? []);
      this.triggers = log;
      this.bind("OnBuild", () => log.reader());
    }
    this.triggers.write(this.triggers.length, expression);
  }

  /** Freeze the config into the value a step carries: O(number of config keys), whatever the fields hold. */
  snapshot(): ContainerConfig {
    // Nothing bound (most stages: no LABEL, EXPOSE, VOLUME, ONBUILD, large Env): the plain copy the loop would make.
    if (this.bound.size === 0) return { ...this.config };
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(this.config) as (keyof ContainerConfig)[]) {
      const read = this.bound.get(k)?.();
      if (!read) out[k] = this.config[k];
      else Object.defineProperty(out, k, { enumerable: true, configurable: true, get: read });
    }
    return out as ContainerConfig;
  }
}
