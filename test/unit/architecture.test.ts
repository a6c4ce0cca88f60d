// Enforces STYLE.md's dependency table: which src/ folder may import which, that folders
// import each other only through index.ts, and that the pure folders touch no I/O.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

const ALLOWED: Record<string, string[]> = {
  util: [],
  shell: ["util"],
  dockerfile: ["util", "shell", "grammar"],
  lint: ["util", "shell", "dockerfile"],
  image: ["util"],
  plan: ["util", "shell", "dockerfile", "image"],
  context: ["util"],
  store: ["util", "image"],
  exec: ["util", "image", "plan", "context", "store"],
  registry: ["util", "image", "store"],
  build: ["util", "shell", "dockerfile", "image", "plan", "context", "store", "exec", "registry"],
  cli: ["util", "shell", "dockerfile", "lint", "image", "plan", "context", "store", "exec", "registry", "build"],
};

const PURE = new Set(["util", "shell", "dockerfile", "lint", "plan"]);
/** Pure files inside edge folders (STYLE.md "Pure cores"). */
const PURE_FILES = [/^context\/(ignore|select|tree-hash)\.ts$/, /^exec\/run\/spec\.ts$/, /^image\/(?!archive\/)/];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".ts") ? [p] : [];
  });
}

function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for (let m; (m = re.exec(text)); ) out.push((m[1] ?? m[2])!);
  return out;
}

const files = walk(SRC).map((f) => relative(SRC, f).split(sep).join("/"));

/** The source files `file` loads at run time (type-only imports are erased), transitively. */
function runtimeGraph(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(join(SRC, file), "utf8");
  const re = /(?:^|\n)\s*(import|export)(\s+type)?\s[^;]*?from\s+["'](\.[^"']+)["']/g;
  for (let m; (m = re.exec(text)); ) {
    if (m[2]) continue;
    const target = relative(SRC, resolve(dirname(join(SRC, file)), m[3]!)).split(sep).join("/");
    runtimeGraph(target.replace(/\.js$/, ".ts"), seen);
  }
  return seen;
}

describe("architecture", () => {
  it("finds source files", () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it("store/worker.ts, a worker thread's entry into the store, loads nothing outside store/ but image/pushed.ts (which loads nothing)", () => {
    const loaded = [...runtimeGraph("store/worker.ts")];
    expect(loaded).toContain("store/temp-file.ts");
    expect(loaded.filter((f) => !f.startsWith("store/"))).toEqual(["image/pushed.ts"]);
  });

  it("image/pushed.ts, the pushed-bytes entry (a download worker's socket reader uses it), loads no other module", () => {
    expect([...runtimeGraph("image/pushed.ts")].filter((f) => f !== "image/pushed.ts")).toEqual([]);
  });

  it("registry/index.ts loads no store module at run time (a pull's first request goes out while the store loads: registry/store-module.ts)", () => {
    const loaded = [...runtimeGraph("registry/index.ts")];
    expect(loaded).toContain("registry/transfer.ts");
    expect(loaded.filter((f) => f.startsWith("store/"))).toEqual([]);
  });

  for (const file of files) {
    const folder = file.includes("/") ? file.split("/")[0]! : "";
    if (!folder) continue;
    it(`${file} respects the dependency table`, () => {
      const text = readFileSync(join(SRC, file), "utf8");
      const pure = PURE.has(folder) || PURE_FILES.some((r) => r.test(file));
      for (const spec of importsOf(text)) {
        if (spec.startsWith(".")) {
          const target = relative(SRC, resolve(dirname(join(SRC, file)), spec)).split(sep).join("/");
          if (target.startsWith("../grammar/")) {
            expect(ALLOWED[folder], `${file} imports ${spec}`).toContain("grammar");
            continue;
          }
          const tFolder = target.split("/")[0]!;
          if (tFolder === folder) continue;
          expect(ALLOWED[folder], `${file} imports ${spec} (folder ${tFolder})`).toContain(tFolder);
          // image/ has a second entry point for its tar codecs, open to edge folders only, and
          // one for pushed bytes (image/pushed.ts, which imports nothing); store/ one for worker
          // threads (store/worker.ts). Worker threads pay for every module they load.
          const entry = tFolder === "image" && !pure ? /^image\/((archive\/)?index|pushed)\.js$/ : tFolder === "store" ? /^store\/(index|worker)\.js$/ : new RegExp(`^${tFolder}/index\\.js$`);
          expect(target, `${file} must import ${tFolder}/ through its index.ts`).toMatch(entry);
        } else if (pure) {
          expect(spec, `pure module ${file} imports ${spec}`).not.toMatch(/^(node:|fs$|path$|child_process$|tar-stream$|fast-glob$)/);
        }
      }
      if (pure) {
        const code = text.replace(/\/\/.*$/gm, "").replace(/\/\*[\s\S]*?\*\//g, "");
        expect(code, `pure module ${file} names process/Buffer/Date.now`).not.toMatch(/\bprocess\.|\bBuffer\.|Date\.now\(/);
      }
    });
  }
});
