// CLI start-up: wall time of `tbuild --version`, `tbuild images` and a no-change
// `tbuild build` (a COPY the cache already holds), each a fresh node process, against the
// floor of `node -e 0`. Each tree runs what its package.json's bin names (here the bundle,
// dist/bundle/tbuild.js); "unbundled" is this tree's tsc output, dist/src/cli/main.js, so
// the bundle's gain is measured in every run. STARTUP_PEER=/path/to/another/checkout
// (built) times that tree too. All take turns in the same run, so they compare fairly on a
// busy machine. Medians of RUNS (default 21). Writes bench/results/startup.json.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL("..", import.meta.url));
const peer = process.env.STARTUP_PEER;
const runs = Number(process.env.RUNS ?? 21);
const work = mkdtempSync(join(tmpdir(), "tbuild-startup-"));
const env = { ...process.env, TBUILD_ROOT: join(work, "root") };
mkdirSync(join(work, "ctx"));
writeFileSync(join(work, "ctx", "a"), "hello\n");
writeFileSync(join(work, "ctx", "Dockerfile"), 'FROM scratch\nCOPY a /a\nCMD ["/a"]\n');

const bin = (tree) => join(tree, JSON.parse(readFileSync(join(tree, "package.json"), "utf8")).bin.tbuild);
function run(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { env, cwd: work, encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const commands = { version: ["--version"], images: ["images"], build: ["build", "-q", "-t", "app", "ctx"] };
const clis = { tbuild: bin(here), unbundled: join(here, "dist/src/cli/main.js"), ...(peer ? { peer: bin(peer) } : {}) };
run([clis.tbuild, ...commands.build]); // the image the no-change builds hit
const samples = { floor: [] };
for (const t of Object.keys(clis)) for (const c of Object.keys(commands)) samples[`${t} ${c}`] = [];
for (let i = 0; i < runs; i++) {
  samples.floor.push(run(["-e", "0"]));
  for (const c of Object.keys(commands)) for (const [t, cli] of Object.entries(clis)) samples[`${t} ${c}`].push(run([cli, ...commands[c]]));
}
rmSync(work, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const result = { runs, load: (await import("node:os")).loadavg()[0], medianMs: {} };
for (const [k, xs] of Object.entries(samples)) {
  result.medianMs[k] = Math.round(median(xs) * 10) / 10;
  console.log(`${k.padEnd(18)} ${result.medianMs[k].toFixed(1).padStart(7)} ms`);
}
for (const other of Object.keys(clis).filter((t) => t !== "tbuild")) {
  for (const c of Object.keys(commands)) {
    const ratio = result.medianMs[`${other} ${c}`] / result.medianMs[`tbuild ${c}`];
    console.log(`${c}: ${other} / tbuild ${ratio.toFixed(2)}×`);
  }
}
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL("./results/startup.json", import.meta.url), JSON.stringify(result, null, 2) + "\n");
