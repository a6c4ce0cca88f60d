// diff.ts: tree comparison (copy fallback) and overlay upper dirs on a real overlay mount.
import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { chainIds, copyTree, diffOverlay, diffTrees, mountOverlay, unmount } from "../../../src/exec/index.js";

const temps: string[] = [];
async function temp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "tbuild-diff-"));
  temps.push(d);
  return d;
}
afterAll(async () => {
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

async function lowerTree(root: string): Promise<void> {
  await mkdir(join(root, "etc"), { recursive: true });
  await mkdir(join(root, "var/lib/x"), { recursive: true });
  await writeFile(join(root, "etc/a"), "a");
  await writeFile(join(root, "etc/b"), "b");
  await writeFile(join(root, "var/lib/x/f"), "f");
  await writeFile(join(root, "same"), "same");
  await symlink("etc/a", join(root, "link"));
  await writeFile(join(root, "typechange"), "file");
}

describe("diffTrees", () => {
  it("finds adds, deletes (top only), modifications, mode changes, type changes and new subtrees", async () => {
    const t = await temp();
    const lower = join(t, "lower");
    await lowerTree(lower);
    const upper = join(t, "upper");
    await copyTree(lower, upper);
    await writeFile(join(upper, "etc/a"), "changed");
    await chmod(join(upper, "etc/b"), 0o600);
    await rm(join(upper, "var/lib"), { recursive: true });
    await rm(join(upper, "link"));
    await symlink("etc/b", join(upper, "link"));
    await rm(join(upper, "typechange"));
    await mkdir(join(upper, "typechange/sub"), { recursive: true });
    await mkdir(join(upper, "new/deep"), { recursive: true });
    await writeFile(join(upper, "new/deep/file"), "n");
    expect(await diffTrees(lower, upper)).toEqual([
      { kind: "modify", path: "etc/a" },
      { kind: "modify", path: "etc/b" },
      { kind: "modify", path: "link" },
      { kind: "add", path: "new" },
      { kind: "add", path: "new/deep" },
      { kind: "add", path: "new/deep/file" },
      { kind: "add", path: "typechange" },
      { kind: "add", path: "typechange/sub" },
      { kind: "delete", path: "var/lib" },
    ]);
  });

  it("sees a same-size, same-mtime rewrite only with compareContent", async () => {
    const t = await temp();
    const lower = join(t, "lower");
    await lowerTree(lower);
    const upper = join(t, "upper");
    await copyTree(lower, upper);
    await writeFile(join(upper, "same"), "SAME");
    execFileSync("touch", ["-r", join(lower, "same"), join(upper, "same")]);
    expect(await diffTrees(lower, upper)).toEqual([]);
    expect(await diffTrees(lower, upper, { compareContent: true })).toEqual([{ kind: "modify", path: "same" }]);
  });
});

describe("diffOverlay", () => {
  it("turns overlay whiteouts into deletes, detects opaque dirs without xattrs, skips unchanged parents", async () => {
    const t = await temp();
    const lower = join(t, "lower");
    await lowerTree(lower);
    const [upper, work, merged] = [join(t, "upper"), join(t, "work"), join(t, "merged")];
    for (const d of [upper, work, merged]) await mkdir(d);
    await mountOverlay({ lowers: [lower], upper, work, target: merged });
    try {
      await rm(join(merged, "etc/b"));
      await writeFile(join(merged, "etc/c"), "c");
      await rm(join(merged, "var/lib/x"), { recursive: true });
      await mkdir(join(merged, "var/lib/x"));
      await writeFile(join(merged, "var/lib/x/g"), "g");
      await mkdir(join(merged, "proc"));
      // With redirect_dir=off renaming a merged directory fails with EXDEV, so mv copies it
      // whole and the upper dir stays self-contained.
      await expect(rename(join(merged, "var/lib"), join(merged, "var/lib2"))).rejects.toMatchObject({ code: "EXDEV" });
      execFileSync("mv", [join(merged, "var/lib"), join(merged, "var/lib2")]);
      const changes = await diffOverlay({ upper, lowers: [lower], merged, stubs: new Set(["proc"]) });
      expect(changes).toContainEqual({ kind: "delete", path: "etc/b" });
      expect(changes).toContainEqual({ kind: "add", path: "etc/c" });
      expect(changes).not.toContainEqual(expect.objectContaining({ path: "etc" }));
      expect(changes).not.toContainEqual(expect.objectContaining({ path: "proc" }));
      const lib2 = changes.filter((c) => c.path.startsWith("var/lib"));
      expect(lib2).toEqual([
        { kind: "delete", path: "var/lib" },
        { kind: "add", path: "var/lib2" },
        { kind: "add", path: "var/lib2/x" },
        { kind: "add", path: "var/lib2/x/g" },
      ]);
    } finally {
      await unmount(merged);
    }
  });

  it("reports an opaque directory when a removed and re-created dir hides lower entries", async () => {
    const t = await temp();
    const lower = join(t, "lower");
    await lowerTree(lower);
    const [upper, work, merged] = [join(t, "upper"), join(t, "work"), join(t, "merged")];
    for (const d of [upper, work, merged]) await mkdir(d);
    await mountOverlay({ lowers: [lower], upper, work, target: merged });
    try {
      await rm(join(merged, "etc"), { recursive: true });
      await mkdir(join(merged, "etc"));
      await writeFile(join(merged, "etc/only"), "o");
      expect(await diffOverlay({ upper, lowers: [lower], merged })).toEqual([
        { kind: "opaque", path: "etc" },
        { kind: "add", path: "etc/only" },
      ]);
    } finally {
      await unmount(merged);
    }
  });
});

describe("chainIds", () => {
  it("follows the OCI definition", () => {
    const a = `sha256:${"a".repeat(64)}` as const;
    const b = `sha256:${"b".repeat(64)}` as const;
    const [c0, c1] = chainIds([a, b]);
    expect(c0).toBe(a);
    const hex = execFileSync("sh", ["-c", `printf '%s' '${a} ${b}' | sha256sum`]).toString().split(" ")[0];
    expect(c1).toBe(`sha256:${hex}`);
  });
});
