// fsutil's walker cases (walk-cases.json) and BuildKit's end-to-end .dockerignore builds
// (build-cases.json) at the context level, on real temporary directories.
import * as fs from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openContext, PatternMatcher, walkContext, type WalkFs } from "../../../src/context/index.js";

const dir = new URL("../../../../shared/conformance/dockerignore/", import.meta.url);
const load = <T>(name: string): T[] => JSON.parse(fs.readFileSync(new URL(name, dir), "utf8")) as T[];
const tmp = mkdtempSync(join(tmpdir(), "tbuild-walk-"));
afterAll(() => {
  // restore permissions so rm can remove mode-0000 folders
  const fix = (p: string) => {
    for (const n of fs.readdirSync(p)) {
      const q = join(p, n);
      if (fs.lstatSync(q).isDirectory()) {
        fs.chmodSync(q, 0o755);
        fix(q);
      }
    }
  };
  fix(tmp);
  rmSync(tmp, { recursive: true, force: true });
});
let n = 0;

/**
 * The kernel lets root read a mode-0000 directory; the cases expect a non-root user's
 * EACCES. This wraps node:fs to apply the permission check from the real mode bits, so
 * the rule is tested as root too (and is a no-op for non-root, where the kernel does it).
 */
const permissionFs: WalkFs = {
  readdirSync(p) {
    if ((fs.statSync(p).mode & 0o444) === 0) throw Object.assign(new Error(`EACCES: permission denied, scandir '${p}'`), { code: "EACCES" });
    return fs.readdirSync(p);
  },
  lstatSync: (p, o) => fs.lstatSync(p, o),
  readlinkSync: fs.readlinkSync,
};

interface WalkCase {
  id: string;
  tree: { path: string; type: "file" | "dir" }[];
  excludePatterns?: string[];
  includePatterns?: string[];
  excludeLayers?: string[][];
  expectWalk?: string[];
  expectOpen?: Record<string, boolean>;
  expectError?: string;
  unreadableDirs?: string[];
}

describe("walk-cases.json", () => {
  for (const c of load<WalkCase>("walk-cases.json")) {
    it(c.id, () => {
      const root = join(tmp, `w${n++}`);
      fs.mkdirSync(root);
      for (const t of c.tree) {
        if (t.type === "dir") fs.mkdirSync(join(root, t.path), { recursive: true, mode: 0o700 });
        else fs.writeFileSync(join(root, t.path), "", { mode: 0o644 });
      }
      for (const d of c.unreadableDirs ?? []) fs.chmodSync(join(root, d), 0);
      const exclude = c.excludeLayers ? c.excludeLayers.map((l) => PatternMatcher.compile(l)) : c.excludePatterns ? [PatternMatcher.compile(c.excludePatterns)] : [];
      const include = c.includePatterns ? PatternMatcher.compile(c.includePatterns) : undefined;
      const walk = () => walkContext(root, { exclude, ...(include ? { include } : {}), fs: permissionFs });
      if (c.expectError) {
        expect(walk).toThrow(c.expectError);
        return;
      }
      const entries = walk();
      if (c.expectWalk) expect(entries.map((e) => `${e.type} ${e.path}`)).toEqual(c.expectWalk);
      for (const [p, ok] of Object.entries(c.expectOpen ?? {})) {
        expect(entries.some((e) => e.path === p && e.type === "file"), `open ${p}`).toBe(ok);
      }
    });
  }
});

interface BuildCase {
  id: string;
  context: Record<string, string>;
  dockerfile: string;
  namedContexts?: Record<string, Record<string, string>>;
  expectPresent?: Record<string, string>;
  expectAbsent?: string[];
  expectError?: boolean;
}

describe("build-cases.json (context level: what COPY . . / COPY --from=<local dir> sees)", () => {
  const write = (root: string, files: Record<string, string>) => {
    fs.mkdirSync(root, { recursive: true });
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(join(root, name), text, { mode: 0o600 });
  };
  for (const c of load<BuildCase>("build-cases.json")) {
    it(c.id, async () => {
      const root = join(tmp, `b${n++}`);
      write(root, c.context);
      if (c.expectError) {
        await expect(openContext(root, { dockerfile: c.dockerfile })).rejects.toMatchObject({ code: "E_CONTEXT_IGNORE" });
        return;
      }
      // build-05: the named context replaces stage "base"; COPY --from=base /o* / selects from it.
      const named = c.namedContexts ? Object.entries(c.namedContexts)[0] : undefined;
      let ctx;
      let sources = ["."];
      if (named) {
        write(join(tmp, `b${n}-named`), named[1]);
        ctx = await openContext(join(tmp, `b${n++}-named`));
        sources = ["/o*"];
      } else {
        ctx = await openContext(root, { dockerfile: c.dockerfile });
        // the build still reads the Dockerfile even when it is excluded
        expect(await ctx.readDockerfile()).toBe(c.context[c.dockerfile]);
      }
      const sel = ctx.select(sources);
      const copied = new Map<string, string>();
      for (const r of sel.roots) {
        for (const e of r.entries) {
          if (e.type !== "file") continue;
          const rel = e.path === r.path ? r.destName : e.path.slice(r.path === "" ? 0 : r.path.length + 1);
          copied.set(rel, (await ctx.readFile(e.path)).toString("utf8"));
        }
      }
      for (const [p, text] of Object.entries(c.expectPresent ?? {})) expect(copied.get(p), p).toBe(text);
      for (const p of c.expectAbsent ?? []) expect(copied.has(p), p).toBe(false);
    });
  }
});

describe("walk order", () => {
  it("is code-point order per directory, whatever order readdir gives", () => {
    const root = join(tmp, `order${n++}`);
    const names = ["B", "a", "\u00e9", "\ue000", "\u{1f600}", "a b", "a-b", "ab"];
    fs.mkdirSync(join(root, "d"), { recursive: true });
    for (const name of names) fs.writeFileSync(join(root, "d", name), "");
    // Code points: "\ue000" (U+E000) sorts before "\u{1f600}", though its UTF-16 unit is higher.
    const expected = ["d", ...["B", "a", "a b", "a-b", "ab", "\u00e9", "\ue000", "\u{1f600}"].map((x) => `d/${x}`)];
    const shuffled: WalkFs = { ...permissionFs, readdirSync: (p) => fs.readdirSync(p).reverse() };
    expect(walkContext(root).map((e) => e.path)).toEqual(expected);
    expect(walkContext(root, { fs: shuffled }).map((e) => e.path)).toEqual(expected);
  });
});
