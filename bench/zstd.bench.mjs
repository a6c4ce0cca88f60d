// zstd benchmark: decompressing a zstd layer (src/store/zstd.ts: fzstd behind a frame
// scanner) against `zstd -d` on the same file, and a pulled layer's first use
// (Store.plainLayer: decode, SHA-256 against the diff ID, write, rename) zstd vs gzip.
// The layer is 128 MiB of a tar of /usr/lib (real binaries and text), compressed with
// `zstd -3` (the CLI's default level) and `gzip -6`. Each decode runs in a child process
// that times itself and reports its peak RSS; tbuild and its peer go first in alternate
// runs; medians of RUNS. Writes bench/results/zstd.json.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = join(here, "..", "dist", "src");
const WORK = process.env.TBUILD_BENCH_DIR ?? join(tmpdir(), "tbuild-bench-zstd");
const SIZE = 128 << 20;
const RUNS = Number(process.env.TBUILD_BENCH_RUNS ?? 5);

fs.rmSync(WORK, { recursive: true, force: true });
fs.mkdirSync(WORK, { recursive: true });
const plain = join(WORK, "layer.tar");
const tar = spawnSync("sh", ["-c", `tar -cf - -C /usr lib 2>/dev/null | head -c ${SIZE} > ${plain}`]);
if (tar.status !== 0 || fs.statSync(plain).size !== SIZE) throw new Error(`could not make the layer: ${tar.stderr}`);
const zst = `${plain}.zst`;
const gz = `${plain}.gz`;
for (const [cmd, out] of [[`zstd -q -3 -f ${plain} -o ${zst}`, zst], [`gzip -6 -c ${plain} > ${gz}`, gz]]) {
  const r = spawnSync("sh", ["-c", cmd]);
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  console.log(`${out}: ${fs.statSync(out).size} bytes`);
}

const diffId = `sha256:${spawnSync("sha256sum", [plain], { encoding: "utf8" }).stdout.slice(0, 64)}`;

/** A child that times one task in-process and prints `{ ms, maxRssKiB }`. */
const child = (body) => `
const { Store, unzstd } = await import(${JSON.stringify(join(dist, "store", "index.js"))});
const fs = await import("node:fs");
const t0 = performance.now();
${body}
console.log(JSON.stringify({ ms: performance.now() - t0, maxRssKiB: process.resourceUsage().maxRSS }));`;

const decodeTbuild = child(`let n = 0; for await (const c of unzstd(fs.createReadStream(${JSON.stringify(zst)}, { highWaterMark: 1 << 20 }))) n += c.length; if (n !== ${SIZE}) throw new Error("size " + n);`);
/** First use of a pulled layer held as `blob`: a fresh store with the blob, then plainLayer. */
const firstUse = (blob) =>
  child(`
fs.rmSync(${JSON.stringify(join(WORK, "store"))}, { recursive: true, force: true });
const s = await Store.open(${JSON.stringify(join(WORK, "store"))});
const b = await s.putBlob(fs.createReadStream(${JSON.stringify(blob)}));
const t1 = performance.now();
const p = await s.plainLayer(${JSON.stringify(diffId)}, b.digest);
if (p.size !== ${SIZE}) throw new Error("size " + p.size);
console.log(JSON.stringify({ ms: performance.now() - t1, maxRssKiB: process.resourceUsage().maxRSS }));
process.exit(0);`);

function node(script) {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split("\n")[0]);
}

/** `zstd -d` to /dev/null, timed from outside (its start-up is ~1 ms), with its peak RSS. */
function zstdD() {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", "zstd", "-q", "-d", "-c", zst], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(r.stderr);
  return { ms, maxRssKiB: Number(r.stderr.trim().split("\n").pop()) };
}

const tasks = {
  tbuildUnzstd: () => node(decodeTbuild),
  zstdD,
  firstUseZstd: () => node(firstUse(zst)),
  firstUseGzip: () => node(firstUse(gz)),
};
const res = Object.fromEntries(Object.keys(tasks).map((k) => [k, []]));
const loadBefore = loadavg();
for (let r = 0; r < RUNS; r++) {
  const order = r % 2 ? [...Object.keys(tasks)].reverse() : Object.keys(tasks);
  for (const k of order) res[k].push(tasks[k]());
}
const loadAfter = loadavg();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbps = (ms) => Math.round(SIZE / 1e6 / (ms / 1000));
const medianMs = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Math.round(median(v.map((x) => x.ms)))]));
const out = {
  bench: "zstd",
  bytes: SIZE,
  compressed: { zstd: fs.statSync(zst).size, gzip: fs.statSync(gz).size },
  runs: RUNS,
  medianMs,
  mbPerS: Object.fromEntries(Object.entries(medianMs).map(([k, ms]) => [k, mbps(ms)])),
  ratio: { tbuildUnzstdVsZstdD: +(medianMs.tbuildUnzstd / medianMs.zstdD).toFixed(2), firstUseZstdVsGzip: +(medianMs.firstUseZstd / medianMs.firstUseGzip).toFixed(2) },
  medianMaxRssMiB: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Math.round(median(v.map((x) => x.maxRssKiB)) / 1024)])),
  allMs: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.map((x) => Math.round(x.ms))])),
  machine: { cpus: cpus().length, loadavgBefore: loadBefore, loadavgAfter: loadAfter },
};
fs.mkdirSync(join(here, "results"), { recursive: true });
fs.writeFileSync(join(here, "results", "zstd.json"), JSON.stringify(out, null, 2) + "\n");
console.log(JSON.stringify({ medianMs: out.medianMs, mbPerS: out.mbPerS, ratio: out.ratio, medianMaxRssMiB: out.medianMaxRssMiB }, null, 2));
fs.rmSync(WORK, { recursive: true, force: true });
