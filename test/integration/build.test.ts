// End-to-end builds: every testdata/builds/<case> is built by the compiled CLI into a
// temporary store, and the image is read back with umoci (files, modes, owners), skopeo
// (config) and the test OCI reader (history, layers), then compared with expect.json.
// A new case is a new folder. Needs root, crun/runc, umoci and skopeo (test/setup installs
// them); it fails, never skips, when they are missing.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxRootfsTar } from "../helpers/fixtures.js";
import { findImage, readBlob, tarNames, verifyLayout } from "../helpers/oci-reader.js";
import { spawnCli, type SpawnCliOptions } from "../helpers/run-cli.js";

const CASES = fileURLToPath(new URL("../../testdata/builds", import.meta.url));

interface FileExpect { type?: "file" | "dir" | "symlink"; mode?: string; uid?: number; gid?: number; content?: string }
interface Expect {
  args?: string[];
  archives?: Record<string, string>;
  serve?: string;
  files?: Record<string, FileExpect>;
  absent?: string[];
  config?: Record<string, unknown>;
  layers?: number;
  history?: string[];
  error?: { code: string; line: number; message?: string };
  progressIncludes?: string[];
  progressExcludes?: string[];
  layerChecks?: { index: number; entries?: string[]; contains?: string[] }[];
}

let work: string;
let root: string;
let server: Server;
let http: string;
let serveDir = "";

/** Run the CLI without blocking the event loop (the test's HTTP server must keep answering). */
const tb = (args: string[], opts: SpawnCliOptions = {}) => spawnCli(args, { ...opts, cwd: opts.cwd ?? work });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "tbuild-build-"));
  root = join(work, "store");
  const tar = await buildBusyboxRootfsTar();
  const r = await tb(["import", "--root", root, tar, "busybox:test"]);
  if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
  server = createServer((req, res) => {
    const file = join(serveDir, decodeURIComponent((req.url ?? "/").split("?")[0]!));
    if (!serveDir || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const addr = server.address();
  http = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(work, { recursive: true, force: true });
});

describe("testdata/builds", () => {
  for (const name of readdirSync(CASES).sort()) {
    const dir = join(CASES, name);
    it(name, async () => {
      const exp = JSON.parse(readFileSync(join(dir, "expect.json"), "utf8")) as Expect;
      // Each case builds from a private copy, so archives can be made in it.
      const ctx = join(work, `ctx-${name}`);
      rmSync(ctx, { recursive: true, force: true });
      // A case without context files has no context/ folder in git (empty folders are not kept).
      if (existsSync(join(dir, "context"))) cpSync(join(dir, "context"), ctx, { recursive: true });
      else mkdirSync(ctx, { recursive: true });
      for (const [archive, from] of Object.entries(exp.archives ?? {})) {
        execFileSync("tar", [archive.endsWith("gz") ? "-czf" : "-cf", join(ctx, archive), "-C", join(ctx, from), "."]);
      }
      serveDir = join(dir, exp.serve ?? "http");
      const ref = `docker.io/library/case-${name}:latest`;
      const args = (exp.args ?? []).map((a) => a.replaceAll("${HTTP}", http).replaceAll("${CASE}", dir));
      const r = await tb(["build", "--root", root, "--progress", "plain", "-t", `case-${name}`, "-f", join(dir, "Dockerfile"), ...args, ctx]);
      const progress = r.stderr;
      for (const s of exp.progressIncludes ?? []) expect(progress).toContain(s);
      for (const s of exp.progressExcludes ?? []) expect(progress).not.toContain(s);
      if (exp.error) {
        expect(r.code, progress).toBe(1);
        expect(progress).toContain(`${exp.error.code}:`);
        expect(progress).toMatch(new RegExp(`Dockerfile:${exp.error.line}:\\d+: ${exp.error.code}`));
        expect(progress).toContain(`>>> `);
        if (exp.error.message) expect(progress).toContain(exp.error.message);
        expect(findImage(root, ref)).toBeUndefined();
        expect(readdirSync(join(root, "tbuild", "tmp"))).toEqual([]);
        return;
      }
      expect(r.code, progress).toBe(0);
      expect(progress).toContain(`naming to ${ref}`);
      verifyLayout(root);
      const img = findImage(root, ref)!;
      expect(img).toBeDefined();
      if (exp.layers !== undefined) expect(img.layers.length).toBe(exp.layers);
      expect(img.config.rootfs.diff_ids).toEqual(img.layers.map((l) => l.digest));
      // skopeo reads the config from the layout.
      const config = JSON.parse(execFileSync("skopeo", ["inspect", "--config", `oci:${root}:${ref}`], { encoding: "utf8" })) as { config: Record<string, unknown>; history: { created_by: string; empty_layer?: boolean }[] };
      for (const [k, v] of Object.entries(exp.config ?? {})) expect(config.config[k], k).toEqual(v);
      if (exp.history) {
        const own = config.history.slice(config.history.length - exp.history.length).map((h) => h.created_by);
        expect(own).toEqual(exp.history);
      }
      expect(config.history.filter((h) => !h.empty_layer).length).toBe(img.layers.length);
      // umoci unpacks it; check files, modes, owners and contents.
      const bundle = join(work, `bundle-${name}`);
      rmSync(bundle, { recursive: true, force: true });
      execFileSync("umoci", ["unpack", "--image", `${root}:${ref}`, bundle], { stdio: "pipe" });
      const rootfs = join(bundle, "rootfs");
      for (const [p, f] of Object.entries(exp.files ?? {})) {
        const abs = join(rootfs, p);
        expect(existsSync(abs) || lstatSync(abs, { throwIfNoEntry: false }) !== undefined, `${p} exists`).toBe(true);
        const st = lstatSync(abs);
        if (f.type) expect(st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "file", p).toBe(f.type);
        if (f.mode) expect((st.mode & 0o7777).toString(8).padStart(4, "0"), `${p} mode`).toBe(f.mode);
        if (f.uid !== undefined) expect(st.uid, `${p} uid`).toBe(f.uid);
        if (f.gid !== undefined) expect(st.gid, `${p} gid`).toBe(f.gid);
        if (f.content !== undefined) expect(readFileSync(abs, "utf8"), `${p} content`).toBe(f.content);
      }
      for (const p of exp.absent ?? []) expect(lstatSync(join(rootfs, p), { throwIfNoEntry: false }), `${p} absent`).toBeUndefined();
      for (const c of exp.layerChecks ?? []) {
        const names = await tarNames(readBlob(root, img.layers[c.index]!.digest));
        if (c.entries) expect(names, `layer ${c.index}`).toEqual(c.entries);
        for (const n of c.contains ?? []) expect(names, `layer ${c.index}`).toContain(n);
      }
      rmSync(bundle, { recursive: true, force: true });
    });
  }
});
