// plan/config-maps.ts: the config's string-keyed maps (Labels, ExposedPorts, Volumes) while a
// stage is planned. Every step carries the config after it, so copying the changed map once
// per instruction still made N LABEL lines cost O(N²) property copies (5,000 lines: 4.6 s,
// all of it in the spread). Instead each map keeps the log of its changes; a snapshot holds
// only the log's length and builds the map on its first read (then every step at that length
// shares it). Planning is O(N); whoever reads k snapshots pays for those k maps only.
import type { ContainerConfig } from "../image/index.js";
import type { MutableConfig } from "./config.js";

export type MapName = "Labels" | "ExposedPorts" | "Volumes";
type MapValue = ContainerConfig[MapName];
type Entry = NonNullable<MapValue>[string];

/** One map: its value at the stage's start plus the (key, value) sets applied since, in order. */
class MapLog {
  private readonly keys: string[] = [];
  private readonly values: Entry[] = [];
  private view: { readonly n: number; readonly read: () => Record<string, Entry> } | undefined;

  constructor(private readonly base: MapValue) {}

  set(key: string, value: Entry): void {
    this.keys.push(key);
    this.values.push(value);
  }

  /** The map as it stands now, built (the way the old per-instruction copy built it) on first read. */
  reader(): () => Record<string, Entry> {
    const n = this.keys.length;
    if (this.view?.n !== n) {
      let built: Record<string, Entry> | undefined;
      this.view = { n, read: () => (built ??= this.build(n)) };
    }
    return this.view.read;
  }

  private build(n: number): Record<string, Entry> {
    const o: Record<string, Entry> = { ...(this.base ?? {}) };
    for (let i = 0; i < n; i++) o[this.keys[i]!] = this.values[i]!;
    return o;
  }
}

/**
 * The logs of one stage's config. Once an instruction touches a map, `config[name]` becomes
 * a read-only getter of the current map (it keeps its place among the keys, so the image
 * config's key order is unchanged) and snapshots get a getter frozen at that point.
 */
export class ConfigMaps {
  private readonly logs = new Map<MapName, MapLog>();

  constructor(private readonly config: MutableConfig) {}

  /** One instruction's change: set each key (the map exists afterwards even if `entries` is empty). */
  update(name: MapName, entries: Iterable<readonly [string, Entry]>): void {
    let log = this.logs.get(name);
    if (!log) {
      const created = new MapLog(this.config[name]);
      log = created;
      this.logs.set(name, created);
      Object.defineProperty(this.config, name, { enumerable: true, configurable: true, get: () => created.reader()() });
    }
    for (const [k, v] of entries) log.set(k, v);
  }

  /** Freeze the config into the value a step carries: O(number of config keys), whatever the maps hold. */
  snapshot(): ContainerConfig {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(this.config) as (keyof ContainerConfig)[]) {
      const log = this.logs.get(k as MapName);
      if (log) Object.defineProperty(out, k, { enumerable: true, configurable: true, get: log.reader() });
      else out[k] = this.config[k];
    }
    return out as ContainerConfig;
  }
}
