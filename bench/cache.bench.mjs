// Build-cache benchmark: `tbuild build --cache-from type=registry,…` into an empty store,
// against Debian's docker-registry on 127.0.0.1, for an image of LAYERS big COPY layers
// (96 MiB each: half random bytes, half one repeated text line, so each gzips to ~50%).
// A seed store builds the image once with --cache-to; each run then builds into a brand-new
// store, median of RUNS, in two cases:
//  - hit: every step is CACHED. The layers are downloaded; since imported layers are kept
//    as the cache's gzip blobs, nothing is inflated and the image names the gzip blobs.
//  - tail miss: the last step (COPY of a small file) changed, so it runs and needs the
//    parent layers as plain tars: every big layer is inflated once, on that first use.
// With TBUILD_BASELINE_CLI (another tbuild bundle, e.g. one built from the commit before a
// change) each case is also timed with it, alternating which goes first, and the ratio is
// current / baseline. Writes bench/results/cache.json.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startRegistry } from "./docker-registry.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
// The CLI users run: package.json's bin (the bundle `npm run build` writes).
const CLI = join(here, "..", JSON.parse(fs.readFileSync(join(here, "..", "package.json"), "utf8")).bin.tbuild);
const BASELINE = process.env.TBUILD_BASELINE_CLI;
const WORK = process.env.TBUILD_BENCH_DIR ?? join(tmpdir(), "tbuild-bench-cache");
const LAYERS = 3;
const LAYER_SIZE = 96 * 1024 * 1024;
const RUNS = Number(process.env.RUNS ?? 5);

/** A file of `size` bytes: half random, half a repeated line (gzip ~50%). */
function writeLayerFile(path, i) {
  const half = LAYER_SIZE / 2;
  const text = Buffer.alloc(half);
  const line = Buffer.from(`layer ${i}: the quick brown fox jumps over the lazy dog ${"0123456789".repeat(3)}\n`);
  for (let o = 0; o < half; o += line.length) line.copy(text, o);
  fs.writeFileSync(path, Buffer.concat([randomBytes(half), text]));
}


const env = { ...process.env, HOME: WORK, XDG_CONFIG_HOME: join(WORK, "cfg"), DOCKER_CONFIG: join(WORK, "docker"), SOURCE_DATE_EPOCH: "1700000000" };

/** Run a build; returns its wall time in ms and its --progress json events. */
function build(cli, root, ctx, extra) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, "build", "--root", root, "--progress", "json", "-t", "bench:cache", ...extra, ctx], { env, encoding: "utf8", maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
  const events = r.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  return { ms, events };
}

const cachedSteps = (events) => events.filter((e) => e.type === "step-done" && e.cached).length;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

fs.rmSync(WORK, { recursive: true, force: true });
const ctx = join(WORK, "ctx");
fs.mkdirSync(ctx, { recursive: true });
const steps = [];
for (let i = 0; i < LAYERS; i++) {
  writeLayerFile(join(ctx, `big${i}.bin`), i);
  steps.push(`COPY big${i}.bin /data/`);
}
fs.writeFileSync(join(ctx, "small.txt"), "small\n");
fs.writeFileSync(join(ctx, "Dockerfile"), ["FROM scratch", ...steps, "COPY small.txt /data/", ""].join("\n"));
// The tail-miss context: the same big files (hard links), another small.txt.
const ctxMiss = join(WORK, "ctx-miss");
fs.mkdirSync(ctxMiss, { recursive: true });
for (const f of fs.readdirSync(ctx)) if (f !== "small.txt") fs.linkSync(join(ctx, f), join(ctxMiss, f));
fs.writeFileSync(join(ctxMiss, "small.txt"), "small, changed\n");

const reg = await startRegistry(join(WORK, "registry"));
const loadStart = loadavg();
const cacheFrom = ["--cache-from", `type=registry,ref=${reg.host}/bench/cache:1`];
const clis = { current: CLI, ...(BASELINE ? { baseline: BASELINE } : {}) };
const res = Object.fromEntries(Object.keys(clis).flatMap((k) => [[`${k}Hit`, []], [`${k}TailMiss`, []]]));
try {
  build(CLI, join(WORK, "seed"), ctx, ["--cache-to", `type=registry,ref=${reg.host}/bench/cache:1,mode=max`]);
  let n = 0;
  for (let r = 0; r < RUNS; r++) {
    // Which CLI goes first alternates from run to run.
    const order = Object.keys(clis);
    if (r % 2) order.reverse();
    for (const k of order) {
      for (const [name, dir, cached] of [["Hit", ctx, LAYERS + 1], ["TailMiss", ctxMiss, LAYERS]]) {
        const root = join(WORK, `store-${n++}`);
        const b = build(clis[k], root, dir, cacheFrom);
        if (cachedSteps(b.events) !== cached) throw new Error(`${k} ${name}: ${cachedSteps(b.events)} steps cached, expected ${cached}`);
        res[`${k}${name}`].push(b.ms);
        fs.rmSync(root, { recursive: true, force: true });
      }
    }
  }
} finally {
  reg.stop();
}
const loadEnd = loadavg();
const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Math.round(median(v))]));
const result = {
  bench: "cache",
  layers: LAYERS,
  bytes: LAYERS * LAYER_SIZE,
  runs: RUNS,
  cores: availableParallelism(),
  // The machine is shared: its load average (1, 5, 15 min) when the runs began and ended.
  loadAvg: { start: loadStart.map((x) => +x.toFixed(2)), end: loadEnd.map((x) => +x.toFixed(2)) },
  medianMs: m,
  allMs: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.map(Math.round)])),
  ...(BASELINE ? { ratio: { hitVsBaseline: +(m.currentHit / m.baselineHit).toFixed(2), tailMissVsBaseline: +(m.currentTailMiss / m.baselineTailMiss).toFixed(2) } } : {}),
  note: "build --cache-from type=registry into an empty store, FROM scratch + 3 COPY of 96 MiB files (half random, half text; gzip ~50%) + COPY of a small file. hit: every step CACHED; tailMiss: the small file changed, so its COPY runs on top of the imported layers (they must be plain). baseline: TBUILD_BASELINE_CLI, alternating order.",
};
fs.mkdirSync(join(here, "results"), { recursive: true });
fs.writeFileSync(join(here, "results", "cache.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));
fs.rmSync(WORK, { recursive: true, force: true });
