// `npm run bench [NAME…]`: runs bench/NAME.bench.mjs (all of them when none is named), each
// in its own process, after compiling. Each bench writes bench/results/NAME.json.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const wanted = process.argv.slice(2);
const all = readdirSync(dir).filter((f) => f.endsWith(".bench.mjs")).map((f) => f.replace(/\.bench\.mjs$/, "")).sort();
const names = wanted.length ? wanted : all;
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length) {
  console.error(`unknown bench: ${unknown.join(", ")}; available: ${all.join(", ")}`);
  process.exit(2);
}
const tsc = spawnSync("npx", ["tsc", "-p", "tsconfig.json"], { stdio: "inherit", cwd: `${dir}/..` });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
let failed = 0;
for (const n of names) {
  console.log(`\n=== bench ${n}`);
  const r = spawnSync(process.execPath, ["--expose-gc", `${dir}/${n}.bench.mjs`], { stdio: "inherit", cwd: `${dir}/..` });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
