// Shared by crash.test.ts and concurrency.test.ts: a store with busybox:test imported, a
// multi-step Dockerfile (RUN and COPY), builds started as child processes with JSON
// progress, killed at a chosen moment, and `tbuild store check` read back as JSON.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
export { makeStore } from "../helpers/fixtures.js";

export const CLI = fileURLToPath(new URL("../../dist/src/cli/main.js", import.meta.url));

/** Six file-system steps; `variant` changes the COPY input, so every step after `RUN one` re-runs. */
export const CRASH_DOCKERFILE = `FROM busybox:test
RUN echo one > /one
COPY a.txt /a.txt
RUN dd if=/dev/zero of=/big bs=1024 count=2048 2>/dev/null && echo two > /two
COPY b.txt /b.txt
RUN sleep 0.2 && cat /one /two /a.txt /b.txt > /all
WORKDIR /srv/app
`;

export function tb(root: string, args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args, "--root", root], { maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** A build context for `variant` (its a.txt differs per variant). */
export function writeContext(work: string, variant: string, dockerfile = CRASH_DOCKERFILE): string {
  const dir = join(work, `ctx-${variant}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  writeFileSync(join(dir, "a.txt"), `variant ${variant}\n`);
  writeFileSync(join(dir, "b.txt"), "b\n");
  return dir;
}

export interface ProgressEvent {
  type: string;
  id?: number;
  cached?: boolean;
  steps?: { id: number; name: string }[];
  total?: number;
  message?: string;
}

export interface BuildRun {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; events: ProgressEvent[]; stderr: string }>;
}

/** Start `tbuild build` in its own process group (so the whole tree can be killed). */
export function startBuild(root: string, ctx: string, tag: string, extra: readonly string[] = []): BuildRun {
  const child = spawn(process.execPath, [CLI, "build", "--root", root, "--progress", "json", "-t", tag, ...extra, ctx], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  let stderr = "";
  child.stdout!.resume();
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; events: ProgressEvent[]; stderr: string }>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, events: parseEvents(stderr), stderr }));
  });
  return { child, done };
}

export function parseEvents(text: string): ProgressEvent[] {
  const out: ProgressEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as ProgressEvent);
    } catch {
      // a line cut by the kill
    }
  }
  return out;
}

/** SIGKILL the build's whole process group (tbuild and any runtime it started). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

/** The names of steps that finished (built or cached) in a run's events. */
export function finishedSteps(events: readonly ProgressEvent[]): string[] {
  const names = new Map((events.find((e) => e.type === "plan")?.steps ?? []).map((s) => [s.id, s.name]));
  return events.filter((e) => e.type === "step-done").map((e) => names.get(e.id!) ?? String(e.id));
}

/** The names of steps a run reported as cache hits. */
export function cachedSteps(events: readonly ProgressEvent[]): string[] {
  const names = new Map((events.find((e) => e.type === "plan")?.steps ?? []).map((s) => [s.id, s.name]));
  return events.filter((e) => e.type === "step-done" && e.cached).map((e) => names.get(e.id!) ?? String(e.id));
}

export interface CheckJson {
  images: number;
  tags: number;
  cacheEntries: number;
  remaining: number;
  problems: { kind: string; message: string; repaired: boolean; repairable: boolean; tags?: string[] }[];
}

export function storeCheck(root: string, repair = false): { code: number; report: CheckJson } {
  const r = tb(root, ["store", "check", "--format", "json", ...(repair ? ["--repair"] : [])]);
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as CheckJson };
  } catch {
    throw new Error(`store check printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
