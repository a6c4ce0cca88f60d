// The crash and concurrency harness in plain JavaScript, so that both the tests (through
// test/integration/crash-helpers.ts, typed by crash-kit.d.mts) and bench/crash.mjs, which
// cannot import TypeScript, drive the same code: a multi-step Dockerfile (RUN and COPY),
// builds started as child processes with JSON progress and killed at a chosen moment, and
// `tbuild store check` read back as JSON.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Six file-system steps; `variant` changes the COPY input, so every step after `RUN one` re-runs. */
export const CRASH_DOCKERFILE = `FROM busybox:test
RUN echo one > /one
COPY a.txt /a.txt
RUN dd if=/dev/zero of=/big bs=1024 count=2048 2>/dev/null && echo two > /two
COPY b.txt /b.txt
RUN sleep 0.2 && cat /one /two /a.txt /b.txt > /all
WORKDIR /srv/app
`;

/** A build context for `variant` (its a.txt differs per variant). */
export function writeContext(work, variant, dockerfile = CRASH_DOCKERFILE) {
  const dir = join(work, `ctx-${variant}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  writeFileSync(join(dir, "a.txt"), `variant ${variant}\n`);
  writeFileSync(join(dir, "b.txt"), "b\n");
  return dir;
}

/** The JSON progress events in a build's stderr (a line cut by a kill is skipped). */
export function parseEvents(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a line cut by the kill
    }
  }
  return out;
}

/** SIGKILL (or `signal`) the build's whole process group (tbuild and any runtime it started). */
export function killGroup(child, signal = "SIGKILL") {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function stepNames(events, keep) {
  const names = new Map((events.find((e) => e.type === "plan")?.steps ?? []).map((s) => [s.id, s.name]));
  return events.filter((e) => e.type === "step-done" && keep(e)).map((e) => names.get(e.id) ?? String(e.id));
}

/** The names of steps that finished (built or cached) in a run's events. */
export const finishedSteps = (events) => stepNames(events, () => true);

/** The names of steps a run reported as cache hits. */
export const cachedSteps = (events) => stepNames(events, (e) => e.cached === true);

/** A small deterministic PRNG (mulberry32). */
export function prng(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The commands that run the compiled CLI at `cli` (the bench runs a private copy of dist/). */
export function crashKit(cli) {
  const tb = (root, args) => {
    const r = spawnSync(process.execPath, [cli, ...args, "--root", root], { maxBuffer: 1 << 28 });
    return { code: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  };
  /** Start `tbuild build` in its own process group (so the whole tree can be killed). */
  const startBuild = (root, ctx, tag, extra = []) => {
    // A killed build cannot remove its RUN bundle (made under TMPDIR): keep those beside the store.
    const tmp = join(dirname(root), "tmp");
    mkdirSync(tmp, { recursive: true });
    const env = { ...process.env, TMPDIR: tmp };
    const child = spawn(process.execPath, [cli, "build", "--root", root, "--progress", "json", "-t", tag, ...extra, ctx], { stdio: ["ignore", "pipe", "pipe"], detached: true, env });
    let stderr = "";
    child.stdout.resume();
    child.stderr.on("data", (c) => (stderr += c.toString()));
    const done = new Promise((resolve) => {
      child.on("close", (code, signal) => resolve({ code, signal, events: parseEvents(stderr), stderr }));
    });
    return { child, done };
  };
  const storeCheck = (root, repair = false) => {
    const r = tb(root, ["store", "check", "--format", "json", ...(repair ? ["--repair"] : [])]);
    try {
      return { code: r.code, report: JSON.parse(r.stdout) };
    } catch {
      throw new Error(`store check printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
    }
  };
  return { tb, startBuild, storeCheck };
}
