// LayerView (a layer chain read from its tar headers) answers every question a COPY asks
// exactly as the unpacked snapshot does: the same layers are unpacked by exec's
// Snapshotter and both are asked lstat, readlink, readdir and readText for every path.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Snapshotter } from "../../src/exec/index.js";
import { HostRootView, type RootView } from "../../src/build/root-view.js";
import { LayerView, LayerViewUnsupported } from "../../src/build/layer-view.js";
import { sha256Digest } from "../../src/util/index.js";
import { buildTar, type TarEntrySpec } from "../helpers/tar-builder.js";

const tmp = mkdtempSync(join(tmpdir(), "tbuild-layer-view-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function writeLayers(layers: TarEntrySpec[][], gzip = false): { diffId: `sha256:${string}`; path: string }[] {
  return layers.map((entries) => {
    const buf = buildTar(entries, { gzip });
    const path = join(tmp, `layer-${n++}.tar`);
    writeFileSync(path, buf);
    return { diffId: sha256Digest(buf.toString("latin1") + path), path };
  });
}

/** Every path of a view, depth first, following no symlinks. */
async function paths(view: RootView, at = ""): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await view.readdir(at)).sort()) {
    const p = at ? `${at}/${name}` : name;
    out.push(p);
    if ((await view.lstat(p))?.type === "dir") out.push(...(await paths(view, p)));
  }
  return out;
}

async function describeView(view: RootView, probes: string[]): Promise<unknown[]> {
  const all = await paths(view);
  const out: unknown[] = [];
  for (const p of [...all, ...probes]) {
    const st = await view.lstat(p);
    const link = st?.type === "symlink" ? await view.readlink(p) : undefined;
    // Directory mtimes on disk move when a later layer adds children; the view keeps the header's.
    out.push([p, st && { ...st, mtime: st.type === "dir" ? 0 : st.mtime }, link, (await view.readdir(p)).sort(), await view.readText(p)]);
  }
  return out;
}

const d = (name: string, extra: Partial<TarEntrySpec> = {}): TarEntrySpec => ({ name, type: "dir", ...extra });
const f = (name: string, content: string, extra: Partial<TarEntrySpec> = {}): TarEntrySpec => ({ name, content, ...extra });

describe("LayerView agrees with the unpacked snapshot", () => {
  const cases: Record<string, TarEntrySpec[][]> = {
    "owners, modes, implicit parents, replacements": [
      [d("etc/", { mode: 0o755 }), f("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"), f("etc/group", "root:x:0:\napp:x:1000:\n"), f("opt/a/b/file", "x", { uid: 5, gid: 6, mode: 0o4755 }), d("srv", { mode: 0o1777, uid: 7 })],
      [d("opt/a", { mode: 0o700, uid: 9, gid: 9 }), f("srv", "now a file"), f("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n")],
    ],
    "whiteouts and opaque directories": [
      [d("keep"), f("keep/a", "1"), f("keep/b", "2"), d("gone"), f("gone/x", "3"), d("opq"), f("opq/old", "4"), d("opq/sub"), f("opq/sub/deep", "5")],
      [f("keep/.wh.a", ""), f(".wh.gone", ""), f("opq/.wh..wh..opq", ""), f("opq/new", "6"), f(".wh.missing", "")],
      [d("gone", { mode: 0o711 }), f("gone/again", "7")],
    ],
    "symlinks: relative, absolute, written through by a later layer": [
      [d("usr/lib"), f("usr/lib/libc.so", "elf"), { name: "lib", type: "symlink", linkname: "usr/lib" }, { name: "loop", type: "symlink", linkname: "loop" }, d("var"), { name: "var/run", type: "symlink", linkname: "../run" }, d("run")],
      [f("lib/added", "via link"), f("var/run/pid", "42")],
    ],
    "hardlinks share their target's inode": [
      [f("bin/busybox", "bb", { mode: 0o755, uid: 3 }), { name: "bin/sh", type: "hardlink", linkname: "bin/busybox" }],
      [f("bin/busybox", "new bb", { mode: 0o700 })],
    ],
    "long names through PAX": [
      [d(`${"d".repeat(90)}/`), { name: "short", content: "long", pax: { path: `${"d".repeat(90)}/${"f".repeat(120)}`, uid: "1234567", mtime: "1700000000.5" } }, { name: "l", type: "symlink", pax: { linkpath: `${"t".repeat(150)}` } }],
    ],
  };
  for (const [name, layers] of Object.entries(cases)) {
    it(name, async () => {
      const blobs = writeLayers(layers);
      const snap = await new Snapshotter(join(tmp, `snap-${n++}`)).prepareRootfs(blobs);
      const host = new HostRootView(snap.rootfs);
      const view = LayerView.open(blobs.map((b) => b.path), 0);
      const probes = ["etc/passwd", "lib/libc.so", "abs/libc.so", "var/run/pid", "lib", "nope/x", "bin/sh", "keep/a", "opq/sub/deep"];
      expect(await describeView(view, probes)).toEqual(await describeView(host, probes));
      for (const p of await paths(host)) {
        const st = await host.lstat(p);
        if (st?.type !== "file") continue;
        const bytes = await view.fileBytes(p);
        expect(Buffer.from("content" in bytes ? bytes.content : [])).toEqual(Buffer.from((await host.readText(p)) ?? "", "utf8"));
      }
    });
  }

  it("resolves absolute symlinks inside the root (an unpacked snapshot on disk would reach the host)", async () => {
    const blobs = writeLayers([[d("usr/lib"), f("usr/lib/libc.so", "elf"), { name: "abs", type: "symlink", linkname: "/usr/lib" }], [f("abs/added", "x")]]);
    const view = LayerView.open(blobs.map((b) => b.path), 0);
    expect((await view.readdir("abs")).sort()).toEqual(["added", "libc.so"]);
    expect(await view.readText("abs/libc.so")).toBe("elf");
    expect((await view.lstat("abs"))?.type).toBe("symlink");
  });

  it("refuses what it cannot read: gzip layers, a layer writing through its own symlink", () => {
    expect(() => LayerView.open(writeLayers([[f("a", "b")]], true).map((b) => b.path), 0)).toThrow(LayerViewUnsupported);
    const own = writeLayers([[d("real"), { name: "link", type: "symlink", linkname: "real" }, f("link/x", "1")]]);
    expect(() => LayerView.open(own.map((b) => b.path), 0)).toThrow(LayerViewUnsupported);
  });
});
