// Context hashing benchmark: 20,000 files of 1–4 KB in nested folders plus 4 files of
// 128 MiB. Cold hashing (fresh file-hash cache) is timed alternately with
// `find | xargs sha256sum` over the same warm page cache; then a warm re-hash with nothing
// changed (cache hits), and the peak RSS of hashing the big files in a child process.
// Writes bench/results/context.json. Goals: cold ≤ 1.3× sha256sum, warm < cold / 10,
// peak RSS < 150 MB. Goals are judged on wall-clock medians; the process CPU time (main
// thread plus libuv's threads) is recorded beside them, since on a shared machine the wall
// clock of a 100 ms run mostly measures the other processes.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = join(here, "..", "dist", "src", "context", "index.js");
const { openContext } = await import(dist);

const WORK = process.env.TBUILD_BENCH_DIR ?? join(tmpdir(), "tbuild-bench-context");
const CTX = join(WORK, "ctx");
const MARK = join(WORK, "complete-v1");
const SMALL = 20_000;
const BIG = 4;
const BIG_SIZE = 128 * 1024 * 1024;

function generate() {
  if (fs.existsSync(MARK)) return false;
  fs.rmSync(WORK, { recursive: true, force: true });
  let n = 0;
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let a = 0; n < SMALL; a++) {
    for (let b = 0; b < 10 && n < SMALL; b++) {
      const d = join(CTX, "src", `pkg${a}`, `mod${b}`, b % 2 ? "lib" : "");
      fs.mkdirSync(d, { recursive: true });
      for (let f = 0; f < 40 && n < SMALL; f++, n++) {
        const size = 1024 + Math.floor(rnd() * 3073);
        const buf = Buffer.allocUnsafe(size);
        for (let i = 0; i < size; i += 4) buf.writeUInt32LE((rnd() * 2 ** 32) >>> 0, Math.min(i, size - 4));
        fs.writeFileSync(join(d, `file${f}.ts`), buf);
      }
    }
  }
  fs.mkdirSync(join(CTX, "big"), { recursive: true });
  const chunk = Buffer.allocUnsafe(1 << 20);
  for (let i = 0; i < BIG; i++) {
    const fd = fs.openSync(join(CTX, "big", `blob${i}.bin`), "w");
    for (let w = 0; w < BIG_SIZE; w += chunk.length) {
      for (let j = 0; j < chunk.length; j += 4) chunk.writeUInt32LE((rnd() * 2 ** 32) >>> 0, j);
      fs.writeSync(fd, chunk);
    }
    fs.closeSync(fd);
  }
  fs.writeFileSync(MARK, "");
  return true;
}

const ms = (t0) => Math.round((performance.now() - t0) * 10) / 10;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function hashOnce(cacheDir) {
  const t0 = performance.now();
  const c0 = cpuMs();
  const ctx = await openContext(CTX, { cacheDir });
  const h = await ctx.hashAll();
  const elapsed = ms(t0);
  const cpu = Math.round((cpuMs() - c0) * 10) / 10;
  await ctx.close();
  return { elapsed, cpu, h, ctx };
}

// Counted once, after the timed runs: building 20,000 entry objects between runs would put
// the bench's own garbage into the next timed run's GC.
function countFiles(ctx) {
  const files = ctx.entries.filter((e) => e.type === "file");
  return { files: files.length, bytes: files.reduce((s, e) => s + e.size, 0) };
}

function sha256sum() {
  const t0 = performance.now();
  execFileSync("sh", ["-c", `find ${JSON.stringify(CTX)} -type f -print0 | xargs -0 sha256sum >/dev/null`]);
  return ms(t0);
}

const loadAtStart = loadavg();
const t0 = performance.now();
const fresh = generate();
console.log(fresh ? `generated ${CTX} in ${ms(t0)} ms` : `reusing ${CTX}`);
// The file-hash cache does not trust files modified in the last 2 s (racy timestamps).
if (fresh) await new Promise((r) => setTimeout(r, 2500));

const caches = fs.mkdtempSync(join(tmpdir(), "tbuild-bench-cache-"));
// Warm the page cache and the JIT once, untimed.
sha256sum();
await hashOnce(join(caches, "warmup"));

const cold = [];
const coldCpu = [];
const sums = [];
let digest;
let lastCtx;
for (let i = 0; i < 5; i++) {
  sums.push(sha256sum());
  const r = await hashOnce(join(caches, `cold${i}`));
  cold.push(r.elapsed);
  coldCpu.push(r.cpu);
  digest ??= r.h.digest;
  if (r.h.digest !== digest) throw new Error("digest not stable across runs");
  lastCtx = r.ctx;
  console.log(`cold run ${i}: tbuild ${r.elapsed} ms (cpu ${r.cpu} ms), sha256sum ${sums[i]} ms`);
}

const warm = [];
const warmCpu = [];
let warmStats;
for (let i = 0; i < 9; i++) {
  const r = await hashOnce(join(caches, "cold0"));
  if (r.h.digest !== digest) throw new Error("warm digest differs");
  warm.push(r.elapsed);
  warmCpu.push(r.cpu);
  warmStats = r.h.stats;
  console.log(`warm run ${i}: ${r.elapsed} ms, cpu ${r.cpu} ms (read ${r.h.stats.filesRead} files, ${r.h.stats.cacheHits} cache hits)`);
}

// Peak RSS hashing only the big files, in a fresh process (no cache).
const child = spawnSync(process.execPath, ["--input-type=module", "-e", `
  const { openContext } = await import(${JSON.stringify(dist)});
  const ctx = await openContext(${JSON.stringify(join(CTX, "big"))});
  const h = await ctx.hashAll();
  console.log(JSON.stringify({ maxRssKB: process.resourceUsage().maxRSS, bytes: h.stats.bytesRead }));
`], { encoding: "utf8" });
if (child.status !== 0) throw new Error(child.stderr);
const big = JSON.parse(child.stdout.trim());
fs.rmSync(caches, { recursive: true, force: true });

const { files, bytes } = countFiles(lastCtx);
const coldMs = median(cold);
const sumMs = median(sums);
const warmMs = median(warm);
const coldCpuMs = median(coldCpu);
const warmCpuMs = median(warmCpu);
const result = {
  bench: "context",
  node: process.version,
  context: { dir: CTX, files, bytes, smallFiles: SMALL, bigFiles: BIG, bigFileBytes: BIG_SIZE },
  digest,
  loadAverage: { start: loadAtStart, end: loadavg() },
  cold: { tbuildMs: cold, sha256sumMs: sums, tbuildMedianMs: coldMs, sha256sumMedianMs: sumMs, ratio: Math.round((coldMs / sumMs) * 100) / 100, goal: "≤ 1.3", tbuildCpuMs: coldCpu, tbuildCpuMedianMs: coldCpuMs },
  warm: { ms: warm, medianMs: warmMs, ratioToCold: Math.round((warmMs / coldMs) * 1000) / 1000, filesRead: warmStats.filesRead, cacheHits: warmStats.cacheHits, goal: "< 0.1", cpuMs: warmCpu, cpuMedianMs: warmCpuMs, cpuRatioToCold: Math.round((warmCpuMs / coldCpuMs) * 1000) / 1000 },
  bigFiles: { peakRssMB: Math.round(big.maxRssKB / 1024), bytesHashed: big.bytes, goal: "< 150" },
};
fs.mkdirSync(join(here, "results"), { recursive: true });
fs.writeFileSync(join(here, "results", "context.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));
