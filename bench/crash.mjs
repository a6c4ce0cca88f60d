// Crash consistency at scale (the small version is test/integration/crash.test.ts): 50 builds
// of a multi-step Dockerfile (RUN and COPY on a busybox base made by `tbuild import`), each
// SIGKILLed with its whole process group at a seeded random moment; after each kill
// `tbuild store check` must be clean, or repairable with no tag lost, and the same build run
// again must succeed and report every step the killed run finished as CACHED.
// Writes bench/results/crash.json. KILLS (default 50), SEED (default 42).
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cachedSteps, crashKit, finishedSteps, killGroup, prng, writeContext } from "../test/helpers/crash-kit.mjs";

// A private copy of the compiled CLI: other engineers recompile dist/ while this runs.
const SNAP = fileURLToPath(new URL(`../node_modules/.cache/tbuild-crash-${process.pid}/`, import.meta.url));
cpSync(fileURLToPath(new URL("../dist/bundle", import.meta.url)), join(SNAP, "dist", "bundle"), { recursive: true });
cpSync(fileURLToPath(new URL("../package.json", import.meta.url)), join(SNAP, "package.json"));
process.on("exit", () => rmSync(SNAP, { recursive: true, force: true }));
// The CLI users run: package.json's bin (the bundle `npm run build` writes).
const CLI = join(SNAP, JSON.parse(readFileSync(join(SNAP, "package.json"), "utf8")).bin.tbuild);
const KILLS = Number(process.env.KILLS ?? 50);
const SEED = Number(process.env.SEED ?? 42);
const { tb, startBuild, storeCheck } = crashKit(CLI);

/** A busybox root file system tar from the host's static busybox (as test/helpers/fixtures.ts). */
function busyboxTar(work) {
  const bin = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p));
  if (!bin) throw new Error("busybox-static is required (test/setup/install-tools.sh)");
  const fs = join(work, "rootfs");
  for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev", "root"]) mkdirSync(join(fs, d), { recursive: true });
  copyFileSync(bin, join(fs, "bin", "busybox"));
  for (const a of execFileSync(bin, ["--list"]).toString().split("\n")) if (a && a !== "busybox" && !a.includes("/")) symlinkSync("busybox", join(fs, "bin", a));
  writeFileSync(join(fs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(fs, "etc", "group"), "root:x:0:\n");
  const tar = join(work, "busybox.tar");
  execFileSync("tar", ["-C", fs, "--owner=0", "--group=0", "--numeric-owner", "--sort=name", "-cf", tar, "."]);
  return tar;
}

/** Run a build; with `kill`, SIGKILL its process group `kill.delayMs` after step number `kill.afterStarts` starts. */
async function build(root, ctx, tag, kill) {
  const run = startBuild(root, ctx, tag);
  let timer;
  if (kill) {
    let stderr = "";
    run.child.stderr.on("data", (c) => {
      stderr += c;
      if (!timer && (stderr.match(/"type":"step-start"/g) ?? []).length >= kill.afterStarts) timer = setTimeout(() => killGroup(run.child), kill.delayMs);
    });
  }
  const r = await run.done;
  clearTimeout(timer);
  return { ...r, finished: finishedSteps(r.events), cached: cachedSteps(r.events) };
}

const work = mkdtempSync(join(tmpdir(), "tbuild-crash-bench-"));
const root = join(work, "store");
const t0 = performance.now();
if (tb(root, ["import", busyboxTar(work), "busybox:test"]).code !== 0) throw new Error("import failed");
const first = await build(root, writeContext(work, "keep"), "keep:1");
if (first.code !== 0) throw new Error(`first build failed: ${first.stderr}`);
let w0 = performance.now();
const warm = await build(root, writeContext(work, "warm"), "warm:1");
const fullMs = performance.now() - w0;
if (warm.code !== 0) throw new Error(`warm build failed: ${warm.stderr}`);

const rand = prng(SEED);
const rows = [];
const failures = [];
for (let k = 0; k < KILLS; k++) {
  const ctx = writeContext(work, `k${k}`);
  // A random step (1 = FROM … 7 = WORKDIR) and a random moment inside it.
  const kill = { afterStarts: 1 + Math.floor(rand() * 7), delayMs: Math.floor(rand() * 400) };
  const at = `step ${kill.afterStarts} + ${kill.delayMs} ms`;
  const killed = await build(root, ctx, `crash:${k}`, kill);
  const finished = killed.finished.filter((n) => !/\] FROM /.test(n));
  let c = storeCheck(root, false);
  const clean = c.code === 0;
  const problems = c.report.problems.map((p) => `${p.kind}: ${p.message}`);
  let repaired = false;
  if (!clean) {
    if (c.report.problems.some((p) => !p.repairable)) failures.push(`kill #${k}: unrepairable: ${problems.join("; ")}`);
    c = storeCheck(root, true);
    repaired = c.report.remaining === 0;
    if (!repaired) failures.push(`kill #${k}: repair left ${c.report.remaining} problems`);
  }
  if (tb(root, ["inspect", "keep:1"]).code !== 0) failures.push(`kill #${k}: tagged image keep:1 lost`);
  const again = await build(root, ctx, `crash:${k}`);
  if (again.code !== 0) failures.push(`kill #${k}: rebuild failed: ${again.stderr.slice(-400)}`);
  const cached = again.cached;
  const notReused = finished.filter((n) => !cached.includes(n));
  if (notReused.length) failures.push(`kill #${k}: finished before the kill but not CACHED on rebuild: ${notReused.join(", ")}`);
  rows.push({ kill: k, at, killed: killed.signal === "SIGKILL", finishedBeforeKill: finished.length, clean, repaired, problems, cachedOnRebuild: cached.length });
  console.log(`kill #${k} at ${at}: ${killed.signal ?? `exit ${killed.code}`}, ${finished.length} steps finished, ${clean ? "clean" : repaired ? `repaired (${problems.length})` : "NOT REPAIRED"}, rebuild ${again.code === 0 ? "ok" : "FAILED"} with ${cached.length} cached`);
}
const final = storeCheck(root, false);
const result = {
  kills: KILLS,
  seed: SEED,
  buildMs: Math.round(fullMs),
  killedMidBuild: rows.filter((r) => r.killed).length,
  cleanAfterKill: rows.filter((r) => r.clean).length,
  repairedAfterKill: rows.filter((r) => !r.clean && r.repaired).length,
  problemKindsSeen: [...new Set(rows.flatMap((r) => r.problems.map((p) => p.split(":")[0])))],
  rebuildsOk: KILLS - failures.filter((f) => f.includes("rebuild failed")).length,
  finalCheckClean: final.code === 0,
  failures,
  seconds: (performance.now() - t0) / 1000,
  rows,
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL("./results/crash.json", import.meta.url), JSON.stringify(result, null, 2) + "\n");
console.log(`crash: ${KILLS} kills (${result.killedMidBuild} mid-build): ${result.cleanAfterKill} clean, ${result.repairedAfterKill} repaired, ${failures.length} failures; final check ${final.code === 0 ? "clean" : "NOT clean"}; ${result.seconds.toFixed(0)} s`);
rmSync(work, { recursive: true, force: true });
process.exitCode = failures.length || final.code !== 0 ? 1 : 0;
