// The build cache and the build command's behaviour, end to end through the compiled CLI:
// a rebuild is entirely CACHED with the same image ID; changing one context file rebuilds
// from the first step that uses it and says why; SOURCE_DATE_EPOCH builds are reproducible
// across folders; --no-cache, -q, --iidfile, --dry-run, --progress json, -f -, the
// examples/ projects, and the exit codes of bad input.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxRootfsTar } from "../helpers/fixtures.js";
import { findImage, snapshotStore } from "../helpers/oci-reader.js";
import { spawnCli, type SpawnCliOptions } from "../helpers/run-cli.js";

const EXAMPLES = fileURLToPath(new URL("../../examples", import.meta.url));

let work: string;
let busyboxTar: string;

const tb = (args: string[], opts: SpawnCliOptions = {}) => spawnCli(args, { ...opts, cwd: opts.cwd ?? work, env: { SOURCE_DATE_EPOCH: "", ...opts.env } });

async function ok(args: string[], opts: Parameters<typeof tb>[1] = {}): Promise<{ stdout: string; stderr: string }> {
  const r = await tb(args, opts);
  if (r.code !== 0) throw new Error(`tbuild ${args.join(" ")} exited ${r.code}\n${r.stderr}`);
  return r;
}

/** A store with busybox:test imported. */
async function freshStore(name: string): Promise<string> {
  const root = join(work, `store-${name}`);
  // A fixed import time, so the base image is the same in every store.
  await ok(["import", "--root", root, busyboxTar, "busybox:test"], { env: { SOURCE_DATE_EPOCH: "0" } });
  return root;
}

/** A small multi-stage project over busybox: a tools stage, a build stage reading src/, a final stage. */
const PROJECT_DOCKERFILE = `FROM busybox:test AS tools
RUN echo "tools" > /tools.txt

FROM busybox:test AS build
WORKDIR /src
COPY src/ /src/
RUN sh greet.sh > /src/out.txt

FROM busybox:test
COPY --from=tools /tools.txt /opt/
COPY --from=build /src/out.txt /opt/
CMD ["cat", "/opt/out.txt"]
`;

function project(name: string): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), PROJECT_DOCKERFILE);
  writeFileSync(join(dir, "src", "greet.sh"), "#!/bin/sh\necho hello\n");
  writeFileSync(join(dir, "src", "other.txt"), "other\n");
  return dir;
}

const stepLines = (stderr: string): string[] => stderr.split("\n").filter((l) => /^#\d+ (CACHED|DONE)/.test(l));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "tbuild-cache-"));
  busyboxTar = await buildBusyboxRootfsTar();
}, 120_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe("the build cache", () => {
  it("a second build is entirely CACHED and gives the same image ID", async () => {
    const root = await freshStore("rebuild");
    const dir = project("rebuild");
    const first = await ok(["build", "--root", root, "--progress", "plain", "-t", "app", dir]);
    expect(first.stderr).not.toContain("CACHED");
    const id1 = /writing image (sha256:[0-9a-f]{64})/.exec(first.stderr)![1];
    const second = await ok(["build", "--root", root, "--progress", "plain", "-t", "app", dir]);
    const id2 = /writing image (sha256:[0-9a-f]{64})/.exec(second.stderr)![1];
    expect(id2).toBe(id1);
    // Every layer step is CACHED; only FROM vertices report DONE.
    const layerSteps = second.stderr.split("\n").filter((l) => /^#\d+ \[.*\] (RUN|COPY|ADD|WORKDIR)/.test(l)).length;
    expect(layerSteps).toBeGreaterThan(3);
    expect(second.stderr.split("\n").filter((l) => /^#\d+ CACHED$/.test(l)).length).toBe(layerSteps);
    expect(findImage(root, "docker.io/library/app:latest")!.configDigest).toBe(id1);
  });

  it("changing one context file rebuilds from the first step that uses it and explains the miss", async () => {
    const root = await freshStore("change");
    const dir = project("change");
    await ok(["build", "--root", root, "--progress", "plain", "-t", "app", dir]);
    writeFileSync(join(dir, "src", "greet.sh"), "#!/bin/sh\necho changed\n");
    const r = await ok(["build", "--root", root, "--progress", "plain", "-t", "app", dir]);
    const lines = r.stderr.split("\n");
    const copyId = lines.find((l) => /^#\d+ \[.*\] COPY src\/ \/src\//.test(l))!.split(" ")[0]!;
    expect(r.stderr).toContain(`${copyId} cache miss: COPY src/ /src/: src/greet.sh changed`);
    expect(lines).not.toContain(`${copyId} CACHED`);
    // Steps before it (in its stage) and the stage that does not read the context stay cached.
    const cachedNames = lines.filter((l) => /^#\d+ CACHED$/.test(l)).map((l) => l.split(" ")[0]!);
    const names = new Map(lines.filter((l) => /^#\d+ \[/.test(l)).map((l) => [l.split(" ")[0]!, l.slice(l.indexOf(" ") + 1)]));
    expect(cachedNames.map((n) => names.get(n))).toEqual(expect.arrayContaining([expect.stringMatching(/WORKDIR \/src/), expect.stringMatching(/RUN echo "tools/)]));
    const history = await ok(["history", "--root", root, "app"]);
    expect(history.stdout).toContain("COPY /src/out.txt /opt/");
  });

  it("a changed build arg is named for every stage's RUN, though the plan record keeps each environment's variables once", async () => {
    const root = await freshStore("arg");
    const dir = join(work, "arg");
    mkdirSync(dir, { recursive: true });
    // Both RUNs run with the same environment: only the first's record holds its variables.
    writeFileSync(join(dir, "Dockerfile"), "FROM busybox:test AS a\nARG V=1\nRUN echo a $V > /a\nFROM busybox:test\nARG V=1\nRUN echo b $V > /b\nCOPY --from=a /a /a\n");
    await ok(["build", "--root", root, "--progress", "plain", dir]);
    const r = await ok(["build", "--root", root, "--progress", "plain", "--build-arg", "V=2", dir]);
    for (const run of ["RUN echo a $V > /a", "RUN echo b $V > /b"]) expect(r.stderr).toContain(`cache miss: ${run}: build arg V changed from "1" to "2"`);
    const plans = join(root, "tbuild", "plans");
    const record = readdirSync(plans).map((f) => readFileSync(join(plans, f), "utf8")).join("");
    expect(record.match(/"keyEnv"/g)).toHaveLength(1);
  });

  it("--no-cache rebuilds every step", async () => {
    const root = await freshStore("nocache");
    const dir = project("nocache");
    await ok(["build", "--root", root, "--progress", "plain", "-t", "app", dir]);
    const r = await ok(["build", "--root", root, "--progress", "plain", "--no-cache", "-t", "app", dir]);
    expect(r.stderr).not.toMatch(/^#\d+ CACHED$/m);
  });

  // prune used to delete every blob no image reaches, which took the build cache's layers
  // with it (here the tools and build stages' layers, which the final image does not hold):
  // the next build silently rebuilt them. Docker keeps build cache on image prune.
  it("prune keeps the build cache (the rebuild is entirely CACHED); prune -a removes it (every step runs again)", async () => {
    const root = await freshStore("prune");
    const dir = project("prune");
    const build = () => ok(["build", "--root", root, "--progress", "plain", "-t", "app", dir]);
    const cachedCount = (stderr: string) => stderr.split("\n").filter((l) => /^#\d+ CACHED$/.test(l)).length;
    await build();
    const p = await ok(["prune", "--root", root]);
    expect(p.stdout).toMatch(/^Kept build cache: \d+ records, \d+ layers \(.+\); tbuild prune -a removes it$/m);
    const second = await build();
    const layerSteps = second.stderr.split("\n").filter((l) => /^#\d+ \[.*\] (RUN|COPY|ADD|WORKDIR)/.test(l)).length;
    expect(layerSteps).toBeGreaterThan(3);
    expect(cachedCount(second.stderr)).toBe(layerSteps);

    const all = JSON.parse((await ok(["prune", "-a", "--root", root, "--format", "json"])).stdout) as Record<string, number>;
    expect(all.BuildCacheRecordsDeleted).toBeGreaterThanOrEqual(layerSteps);
    expect(all.BuildCacheRecords).toBe(0);
    expect(all.SpaceReclaimed).toBeGreaterThan(0); // the intermediate stages' layers
    const third = await build();
    expect(cachedCount(third.stderr)).toBe(0);
    expect(third.stderr).toMatch(/^#\d+ \[tools .*\] RUN echo "tools"/m);
  });

  // rmi deleted the image's layers although build-cache records pointed at them (prune
  // already kept them), so the rebuild after rmi missed on the final stage's COPY steps.
  it("rmi keeps the layers the build cache points at: the rebuild is entirely CACHED with the same image ID", async () => {
    const root = await freshStore("rmi");
    const dir = project("rmi");
    const build = () => ok(["build", "--root", root, "--progress", "plain", "-t", "app", dir]);
    const first = await build();
    const id1 = /writing image (sha256:[0-9a-f]{64})/.exec(first.stderr)![1]!;
    const layers = findImage(root, "docker.io/library/app:latest")!.layers.map((l) => l.digest);
    const r = await ok(["rmi", "--root", root, "app"]);
    expect(r.stdout).toContain(`Deleted: ${id1}`);
    for (const l of layers) expect(r.stdout).not.toContain(l);
    expect(findImage(root, "docker.io/library/app:latest")).toBeUndefined();
    const second = await build();
    expect(/writing image (sha256:[0-9a-f]{64})/.exec(second.stderr)![1]).toBe(id1);
    const layerSteps = second.stderr.split("\n").filter((l) => /^#\d+ \[.*\] (RUN|COPY|ADD|WORKDIR)/.test(l)).length;
    expect(layerSteps).toBeGreaterThan(3);
    expect(second.stderr.split("\n").filter((l) => /^#\d+ CACHED$/.test(l)).length).toBe(layerSteps);
  });

  it("SOURCE_DATE_EPOCH=0 builds of the same project in two folders give the same image digest", async () => {
    const digests: string[] = [];
    for (const n of ["repro-a", "repro-b"]) {
      const root = await freshStore(n);
      const dir = project(`${n}-ctx`);
      const r = await ok(["build", "--root", root, "-q", "-t", "app", dir], { env: { SOURCE_DATE_EPOCH: "0" } });
      const img = findImage(root, "docker.io/library/app:latest")!;
      expect(r.stdout.trim()).toBe(img.configDigest);
      const config = JSON.parse(readFileSync(join(root, "blobs", "sha256", img.configDigest.slice(7)), "utf8")) as { created: string; history: { created?: string }[] };
      expect(config.created).toBe("1970-01-01T00:00:00.000Z");
      digests.push(img.manifestDigest);
    }
    expect(digests[1]).toBe(digests[0]);
  });

  it("--dry-run shows hits and misses and touches no rootfs", async () => {
    const root = await freshStore("dry");
    const dir = project("dry");
    const before = snapshotStore(root);
    const r = await ok(["build", "--root", root, "--dry-run", dir]);
    expect(r.stdout).toMatch(/^#\d+ MISS +\[.*COPY src\/ \/src\//m);
    expect(snapshotStore(root)).toBe(before);
    await ok(["build", "--root", root, "-q", dir]);
    const again = await ok(["build", "--root", root, "--dry-run", dir]);
    expect(again.stdout).not.toContain("MISS");
    expect(again.stdout).toMatch(/layer steps cached/);
  });
});

describe("tbuild build options", () => {
  it("-q prints only the image ID; --iidfile writes it; --label adds a label", async () => {
    const root = await freshStore("quiet");
    const dir = project("quiet");
    const iid = join(work, "iid.txt");
    const r = await ok(["build", "--root", root, "-q", "--iidfile", iid, "--label", "team=build", "-t", "app:1", "-t", "app:2", dir]);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(r.stderr).toBe("");
    expect(readFileSync(iid, "utf8")).toBe(r.stdout.trim());
    const img = findImage(root, "docker.io/library/app:2")!;
    expect(img.configDigest).toBe(r.stdout.trim());
    expect((img.config.config as { Labels: Record<string, string> }).Labels.team).toBe("build");
  });

  it("--progress json writes one event per line, ending with done", async () => {
    const root = await freshStore("json");
    const r = await ok(["build", "--root", root, "--progress", "json", "-t", "hello", join(EXAMPLES, "hello")]);
    const events = r.stderr.trim().split("\n").map((l) => JSON.parse(l) as { type: string; imageId?: string });
    expect(events[0]!.type).toBe("plan");
    expect(events.some((e) => e.type === "step-start")).toBe(true);
    expect(events[events.length - 1]!.type).toBe("done");
    expect(events[events.length - 1]!.imageId).toMatch(/^sha256:/);
  });

  it("the shorthand `tbuild -t NAME DIR` builds, and -f - reads the Dockerfile from stdin", async () => {
    const root = await freshStore("short");
    await ok(["-t", "hello", "--root", root, "-q", join(EXAMPLES, "hello")]);
    expect(findImage(root, "docker.io/library/hello:latest")).toBeDefined();
    const r = await ok(["build", "--root", root, "-q", "-f", "-", "-t", "stdin", join(EXAMPLES, "hello")], { input: "FROM scratch\nCOPY hello.txt /\n" });
    expect(findImage(root, "docker.io/library/stdin:latest")!.configDigest).toBe(r.stdout.trim());
  });

  it("--target builds only the stages it needs", async () => {
    const root = await freshStore("target");
    const dir = project("target");
    const r = await ok(["build", "--root", root, "--progress", "plain", "--target", "tools", "-t", "tools", dir]);
    expect(r.stderr).not.toContain("[build ");
    expect(findImage(root, "docker.io/library/tools:latest")).toBeDefined();
  });

  it("bad input: missing Dockerfile, a file as context, a bad tag, another platform exit 1; bad flags exit 2", async () => {
    const root = await freshStore("bad");
    const empty = mkdtempSync(join(work, "empty-"));
    const cases: [string[], number, string][] = [
      [["build", "--root", root, empty], 1, "E_CONTEXT_NOT_FOUND: cannot read Dockerfile"],
      [["build", "--root", root, join(EXAMPLES, "hello", "Dockerfile")], 1, "is not a directory"],
      [["build", "--root", root, "-t", "UPPER:x", join(EXAMPLES, "hello")], 1, "E_REF_INVALID"],
      [["build", "--root", root, "--platform", "linux/s390x", join(EXAMPLES, "hello")], 1, "E_PLAN_PLATFORM"],
      [["build", "--root", root, "--progress", "fancy", join(EXAMPLES, "hello")], 2, "invalid --progress"],
      [["build", "--root", root, "--no-such-flag", join(EXAMPLES, "hello")], 2, "unknown flag"],
      [["build", "--root", root], 2, "requires at least 1 argument"],
    ];
    for (const [args, code, text] of cases) {
      const r = await tb(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(code);
      expect(r.stderr).toContain(text);
    }
    expect(readdirSync(join(root, "tbuild", "tmp"))).toEqual([]);
  });

  it("--check runs the lint checks only", async () => {
    const dir = mkdtempSync(join(work, "check-"));
    writeFileSync(join(dir, "Dockerfile"), "from scratch AS Base\nCOPY . /\n");
    const r = await tb(["build", "--root", join(work, "store-check"), "--check", dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Check complete, \d+ warnings? ha(ve|s) been found/);
    const clean = await tb(["build", "--root", join(work, "store-check"), "--check", join(EXAMPLES, "hello")]);
    expect(clean.stdout + clean.stderr).toMatch(/Check complete/);
  });
});

describe("examples/", () => {
  for (const name of ["hello", "multistage"]) {
    it(`examples/${name} builds with no network and no base image download`, async () => {
      const root = await freshStore(`ex-${name}`);
      const r = await ok(["build", "--root", root, "--progress", "plain", "-t", name, join(EXAMPLES, name)]);
      expect(r.stderr).toContain(`naming to docker.io/library/${name}:latest`);
      expect(stepLines(r.stderr).length).toBeGreaterThan(0);
    });
  }
});
