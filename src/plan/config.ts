// plan/config.ts: how instructions change an image config (BuildKit's dispatch* rules for
// EXPOSE, WORKDIR, HEALTHCHECK durations, default PATH) and the history `created_by` forms.
// Pure helpers used by dispatch.ts.
import { TbuildError, cleanPath } from "../util/index.js";
import { goQuote } from "../dockerfile/index.js";
import type { ContainerConfig } from "../image/index.js";

/** BuildKit's default PATH for Linux images whose config has none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
export const DEFAULT_SHELL: readonly string[] = ["/bin/sh", "-c"];
/** The `comment` BuildKit writes on every history entry of a Dockerfile build. */
export const HISTORY_COMMENT = "buildkit.dockerfile.v0";

/** A mutable copy of a config, for one instruction's change. */
export type MutableConfig = { -readonly [K in keyof ContainerConfig]: ContainerConfig[K] };

/** Ensure `Env` has a PATH (BuildKit adds the default for scratch and images without one). */
export function withDefaultPath(config: ContainerConfig): ContainerConfig {
  const env = config.Env ?? [];
  if (env.some((e) => e.startsWith("PATH="))) return config;
  return { ...config, Env: [...env, `PATH=${DEFAULT_PATH}`] };
}

/**
 * Resolve a WORKDIR against the previous one: relative paths join it, the result is clean.
 * Cleaning the whole path each time is bounded by MAX_PATH_BYTES (the planner refuses a
 * WORKDIR past it), so a chain of relative WORKDIRs stays linear.
 */
export function resolveWorkdir(prev: string | undefined, path: string): string {
  return cleanPath(path.startsWith("/") ? path : `${prev || "/"}/${path}`);
}

/**
 * Resolve a COPY/ADD destination against WORKDIR. A trailing `/` (or `.`) is kept: it
 * means "into this directory" to the executor.
 */
export function resolveDest(workdir: string | undefined, dest: string): string {
  const dirLike = dest.endsWith("/") || dest === "." || dest.endsWith("/.");
  const abs = resolveWorkdir(workdir, dest);
  return dirLike && abs !== "/" ? `${abs}/` : abs;
}

/**
 * EXPOSE words to port keys: `80` → `80/tcp`, `53/udp`, `8000-8002` → three ports.
 * Throws E_PLAN_INVALID for anything else.
 */
export function parsePorts(word: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/([A-Za-z]+))?$/.exec(word);
  if (!m) throw new TbuildError("E_PLAN_INVALID", `invalid port ${JSON.stringify(word)}`, { hint: "write PORT, PORT/PROTO or START-END[/PROTO], e.g. 80/tcp" });
  const proto = (m[3] ?? "tcp").toLowerCase();
  if (proto !== "tcp" && proto !== "udp" && proto !== "sctp") throw new TbuildError("E_PLAN_INVALID", `invalid protocol ${JSON.stringify(m[3])} in port ${JSON.stringify(word)}`, { hint: "use tcp, udp or sctp" });
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) throw new TbuildError("E_PLAN_INVALID", `invalid port range ${JSON.stringify(word)}`, { hint: "ports are 0-65535, START ≤ END" });
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

/** Go's time.Duration String() for whole units (`5s`, `1m30s`, `500ms`, `0s`). */
export function formatDuration(ns: number): string {
  if (ns === 0) return "0s";
  if (ns < 1e9) return ns % 1e6 === 0 ? `${ns / 1e6}ms` : ns % 1e3 === 0 ? `${ns / 1e3}µs` : `${ns}ns`;
  let rest = ns;
  const h = Math.floor(rest / 3600e9);
  rest -= h * 3600e9;
  const m = Math.floor(rest / 60e9);
  rest -= m * 60e9;
  const sec = `${rest / 1e9}s`;
  return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${sec}`;
}

/** Go's %q of a []string: `["a" "b"]`. */
export function goQList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(" ")}]`;
}

/** Go's %v of a []string: `[a b]`. */
export function goVList(list: readonly string[]): string {
  return `[${list.join(" ")}]`;
}

/** Go's %v of a map[string]struct{}: `map[53/udp:{} 80/tcp:{}]` (keys sorted). */
export function goVSet(keys: readonly string[]): string {
  return `map[${[...new Set(keys)].sort().map((k) => `${k}:{}`).join(" ")}]`;
}
