// The sandbox under pressure: aborting a RUN, a command that cannot start, and an image
// whose /etc/hosts is a symlink to a host path (the runtime must not bind over the host's file).
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CrunRuntime, RuncRuntime, runStep, selectRuntime, Snapshotter, UnshareRuntime, type ProcessSpec, type Runtime } from "../../src/exec/index.js";
import { makeBusyboxRootfs, makeBusyboxTar } from "../helpers/busybox-rootfs.js";

let work: string;
let lower: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "tbuild-safety-"));
  const file = await makeBusyboxTar(work, join(work, "bb.tar"));
  const diffId = `sha256:${createHash("sha256").update(await readFile(file)).digest("hex")}` as const;
  lower = (await new Snapshotter(join(work, "snaps")).prepareRootfs([{ diffId, path: file }])).rootfs;
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const spec = (argv: string[]): ProcessSpec => ({ argv, env: ["PATH=/bin"], cwd: "/", user: { uid: 0, gid: 0 }, hostname: "t", network: "none" });
const runtimes: [string, () => Runtime][] = [
  ["crun", () => new CrunRuntime()],
  ["runc", () => new RuncRuntime()],
  ["unshare", () => new UnshareRuntime()],
];

async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile("/proc/self/mounts", "utf8")).split("\n").filter((l) => l.includes(dir));
}

describe.each(runtimes)("%s", (name, make) => {
  const rt = make();

  it("an aborted RUN is killed, rejects with E_INTERRUPTED and leaves no mount behind", async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ac.abort(), 300);
    await expect(runStep({ ...spec(["/bin/sleep", "30"]), lowerdirs: [lower], scratch: work, runtime: rt, signal: ac.signal })).rejects.toMatchObject({ code: "E_INTERRUPTED" });
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(await mountsUnder(work)).toEqual([]);
  });

  it("a command that does not exist fails the step (runtime error or status 127)", async () => {
    const r = await runStep({ ...spec(["/no/such/binary"]), lowerdirs: [lower], scratch: work, runtime: rt }).then(
      async (x) => {
        await x.dispose();
        return x.exitCode;
      },
      (e: { code?: string }) => e.code,
    );
    expect(r).toSatisfy((v: unknown) => v === "E_EXEC_RUNTIME" || v === 127);
  });

  it("an image /etc/hosts symlinked to a host path does not expose or cover the host file", async () => {
    const hostFile = join(work, `host-hosts-${name}`);
    await writeFile(hostFile, "HOST CONTENT\n");
    const image = await mkdtemp(join(work, "img-"));
    await makeBusyboxRootfs(image);
    await symlink(hostFile, join(image, "etc/hosts"));
    const r = await runStep({ ...spec(["/bin/sh", "-c", "cat /etc/hosts; echo written > /etc/hosts; true"]), lowerdirs: [image], scratch: work, runtime: rt }).catch((e: unknown) => e);
    if ("dispose" in (r as object)) await (r as { dispose(): Promise<void> }).dispose();
    expect(await readFile(hostFile, "utf8")).toBe("HOST CONTENT\n");
    expect(await mountsUnder(work)).toEqual([]);
    await unlink(hostFile);
  });
});

describe("selectRuntime", () => {
  it("prefers crun, honours an explicit choice and names what is missing", () => {
    expect(selectRuntime("auto").name).toBe("crun");
    expect(selectRuntime("unshare").name).toBe("unshare");
    expect(() => selectRuntime("crun", "/nonexistent")).toThrow(expect.objectContaining({ code: "E_EXEC_RUNTIME" }));
  });
});
