// Differential test: each case is built by tbuild and by buildah (`bud --layers --isolation
// chroot`, overlay storage in temp dirs) FROM the same busybox base (tbuild save --format oci →
// buildah pull oci-archive:), both images are unpacked by umoci and their config read by
// skopeo, and the final file trees (paths, types, modes, uid/gid, contents, link targets;
// times ignored) and configs (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Labels)
// must be equal. Known, intended differences are listed in KNOWN with the reason.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, makeStore, writeContext } from "./run-helpers.js";

const execFileP = promisify(execFile);

interface Case {
  readonly name: string;
  readonly dockerfile: string;
  readonly files?: Record<string, string>;
  readonly args?: readonly string[];
}

const CASES: Case[] = [
  {
    name: "files-across-layers",
    dockerfile: `FROM busybox:test
RUN echo hi > /a && mkdir -p /d/e && echo x > /d/e/f && echo keep > /d/k
RUN rm /a && echo mod >> /d/e/f && chmod 600 /d/k && rm /etc/group
RUN rm -rf /d/e && echo late > /d/late`,
  },
  {
    name: "user-workdir",
    dockerfile: `FROM busybox:test
WORKDIR /srv/app
USER app
RUN id > /tmp/id && pwd > /tmp/pwd && touch /tmp/mine
USER 1000:100
RUN id -g > /tmp/gid && touch /tmp/group-owned
USER root
WORKDIR rel/sub
RUN pwd > /pwd2`,
  },
  {
    name: "env-and-args",
    dockerfile: `FROM busybox:test
ARG VERSION=1.0
ARG NAME
ENV APP_HOME=/opt/app PATH=/opt/app/bin:$PATH
ENV GREETING="hello $NAME" EMPTY=
RUN echo "$VERSION $NAME $APP_HOME $GREETING" > /vars && env | grep -E '^(APP_HOME|GREETING|VERSION|NAME)=' | sort > /env
RUN mkdir -p $APP_HOME/bin && echo v$VERSION > $APP_HOME/version`,
    args: ["--build-arg", "NAME=tbuild"],
  },
  {
    name: "copy-chown-chmod",
    dockerfile: `FROM busybox:test
COPY a.txt /dst/
COPY --chown=app:app dir /dst/dir
COPY --chmod=0750 run.sh /usr/local/bin/run.sh
COPY a.txt b.txt /multi/
RUN cd /dst/dir && find . | sort | xargs stat -c '%n %a %u %g' > /listing`,
    files: { "a.txt": "A\n", "b.txt": "B\n", "dir/x": "x\n", "dir/sub/y": "y\n", "run.sh": "#!/bin/sh\necho run\n" },
  },
  {
    name: "metadata",
    dockerfile: `FROM busybox:test
LABEL org.example.name="tbuild test" org.example.multi="a b"
EXPOSE 8080 53/udp
ENV MODE=prod
USER app
WORKDIR /home/app
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hello"]
STOPSIGNAL SIGTERM`,
  },
  {
    name: "multistage",
    dockerfile: `FROM busybox:test AS build
RUN mkdir /out && echo artifact > /out/bin && chmod 755 /out/bin && ln -s bin /out/link
FROM busybox:test AS other
RUN echo other > /other
FROM busybox:test
COPY --from=build /out/ /app/
COPY --from=other /other /app/other
RUN ls -l /app | wc -l > /count`,
  },
  {
    name: "links",
    dockerfile: `FROM busybox:test
RUN mkdir /l && echo data > /l/file && ln /l/file /l/hard && ln -s file /l/rel && ln -s /l/file /l/abs && ln -s missing /l/dangling
RUN echo more >> /l/file && rm /l/rel && ln -s hard /l/rel`,
  },
  {
    name: "opaque-and-special-modes",
    dockerfile: `FROM busybox:test
RUN mkdir -p /data/old && touch /data/old/a /data/keep
RUN rm -rf /data && mkdir -m 1777 /data && echo new > /data/new
RUN touch /suid && chmod 4755 /suid && mkdir -m 2775 /sgid && chown 1000:100 /sgid && mkfifo /fifo`,
  },
  {
    // buildah 1.28 has no heredocs, so this case sticks to shell and exec forms.
    name: "shell-and-exec-forms",
    dockerfile: `FROM busybox:test
RUN echo one > /one && \\
    echo two > /two
SHELL ["/bin/sh", "-e", "-c"]
RUN echo shell-form "$0" > /sf
RUN ["/bin/sh", "-c", "echo exec-form > /ef"]
RUN ["touch", "/exec-no-shell"]
CMD echo shell-cmd`,
  },
  {
    name: "add-archive",
    dockerfile: `FROM busybox:test
ADD bundle.tar /opt/
ADD plain.txt /opt/plain.txt
RUN find /opt | sort > /tree`,
    files: { "plain.txt": "plain\n" },
  },
  {
    name: "mounts",
    dockerfile: `FROM busybox:test AS src
RUN mkdir /s && echo from-stage > /s/f
FROM busybox:test
RUN --mount=type=cache,target=/cache echo c > /cache/x && cat /cache/x > /from-cache
RUN --mount=type=bind,source=ctx.txt,target=/ctx.txt cat /ctx.txt > /from-ctx
RUN --mount=type=bind,from=src,source=/s,target=/s cat /s/f > /from-stage
RUN --mount=type=tmpfs,target=/t echo t > /t/x && cat /t/x > /from-tmpfs`,
    files: { "ctx.txt": "from-context\n" },
  },
  {
    name: "dockerignore-and-dirs",
    dockerfile: `FROM busybox:test
COPY . /ctx/
RUN find /ctx | sort > /ctx-tree`,
    files: { "keep/a": "a\n", "skip.log": "no\n", "keep/b.log": "no\n", "keep/inner/c": "c\n", ".dockerignore": "*.log\n**/*.log\n" },
  },
];

/**
 * Intended differences, by case and path (or config field), with the reason. Anything else
 * that differs fails the test.
 */
const KNOWN: Record<string, Record<string, string>> = {
  "*": {
    // buildah --isolation chroot leaves the empty files and folder it bound over (mode 0755);
    // tbuild, like BuildKit, drops mount stubs the image did not have.
    "etc/hostname": "buildah leaves its mount stub",
    "etc/hosts": "buildah leaves its mount stub",
    "etc/resolv.conf": "buildah leaves its mount stub",
    run: "buildah leaves its mount stub",
  },
  "user-workdir": {
    // BuildKit creates WORKDIR when it is declared, as the USER in force then (root here);
    // buildah creates it lazily at the next RUN, as that RUN's user.
    srv: "WORKDIR owner: BuildKit semantics",
    "srv/app": "WORKDIR owner: BuildKit semantics",
    // Supplementary groups: tbuild gives the user's /etc/group memberships (BuildKit and
    // Docker via libcontainer's GetExecUser); buildah also adds the primary group.
    "tmp/id": "id's groups= list",
  },
  links: {
    // The second RUN appends to a hardlinked file: overlayfs copy-up (index=off, as in Docker
    // and BuildKit's overlay snapshotter) breaks the link, so only l/file changes; buildah with
    // the vfs driver writes through both names (listed so the case passes with either driver).
    "l/file": "overlay copy-up breaks hardlinks (Docker/BuildKit behaviour)",
    "l/hard": "overlay copy-up breaks hardlinks (Docker/BuildKit behaviour)",
  },
  "shell-and-exec-forms": {
    // BuildKit wraps a shell-form CMD in the SHELL in force; buildah always uses /bin/sh -c.
    Cmd: "SHELL applies to shell-form CMD in BuildKit",
  },
};

let work: string;
let root: string;
let bh: string[];
const results = new Map<string, { tbuild: Snapshot; buildah: Snapshot } | Error>();

interface Snapshot {
  tree: Map<string, string>;
  config: Record<string, unknown>;
}

async function sh(cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<string> {
  try {
    // buildah keeps a blob cache under TMPDIR: keep it in the test's folder, removed after.
    const env = cmd === "buildah" ? { ...process.env, TMPDIR: join(work, "tmp") } : process.env;
    const r = await execFileP(cmd, [...args], { maxBuffer: 1 << 28, env, ...opts });
    return r.stdout;
  } catch (e) {
    const x = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${x.stderr ?? ""}${x.stdout ?? ""}${x.message}`);
  }
}

/** One line per path: type, mode, owner, and content hash or link target (no times). */
function readTree(rootfs: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const n of readdirSync(join(rootfs, rel)).sort()) {
      const p = rel ? `${rel}/${n}` : n;
      const st = lstatSync(join(rootfs, p));
      const own = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isDirectory()) {
        out.set(p, `dir ${own}`);
        walk(p);
      } else if (st.isSymbolicLink()) out.set(p, `symlink ${own} -> ${readlinkSync(join(rootfs, p))}`);
      else if (st.isFile()) out.set(p, `file ${own} ${st.nlink > 1 ? "hardlinked " : ""}${createHash("sha256").update(readFileSync(join(rootfs, p))).digest("hex").slice(0, 16)}`);
      else out.set(p, `${st.isFIFO() ? "fifo" : st.isCharacterDevice() ? "char" : st.isBlockDevice() ? "block" : "other"} ${own}`);
    }
  };
  walk("");
  return out;
}

const CONFIG_FIELDS = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels", "StopSignal"] as const;

async function snapshot(layout: string, ref: string, dir: string): Promise<Snapshot> {
  const cfg = JSON.parse(await sh("skopeo", ["inspect", "--config", `oci:${layout}:${ref}`])) as { config?: Record<string, unknown> };
  const c = cfg.config ?? {};
  const config: Record<string, unknown> = {};
  for (const f of CONFIG_FIELDS) {
    let v = c[f];
    if (f === "Labels" && v && typeof v === "object") {
      v = Object.fromEntries(Object.entries(v as Record<string, string>).filter(([k]) => !k.startsWith("io.buildah.")));
      if (Object.keys(v as object).length === 0) v = undefined;
    }
    if (v === "" || (Array.isArray(v) && v.length === 0)) v = undefined;
    if (v !== undefined) config[f] = v;
  }
  await sh("umoci", ["unpack", "--image", `${layout}:${ref}`, dir]);
  return { tree: readTree(join(dir, "rootfs")), config };
}

async function buildBoth(c: Case): Promise<void> {
  const ctx = join(work, "ctx", c.name);
  writeContext(ctx, { Dockerfile: c.dockerfile, ...(c.files ?? {}) });
  if (c.name === "add-archive") {
    const src = join(work, "tarsrc");
    writeContext(src, { "pkg/readme": "readme\n", "pkg/bin/tool": "#!/bin/sh\n" });
    await sh("tar", ["--owner=0", "--group=0", "-cf", join(ctx, "bundle.tar"), "-C", src, "pkg"]);
  }
  const tag = `diff-${c.name}`;
  const tbuild = (async () => {
    await sh(process.execPath, [CLI, "build", "--root", root, "-q", "-t", tag, ...(c.args ?? []), ctx]);
    return snapshot(root, `docker.io/library/${tag}:latest`, join(work, "unpacked", `tb-${c.name}`));
  })();
  const buildah = (async () => {
    await sh("buildah", [...bh, "bud", "--isolation", "chroot", "--layers", "--pull-never", "-q", "-t", tag, ...(c.args ?? []), ctx]);
    const layout = join(work, "bh-oci", c.name);
    mkdirSync(join(work, "bh-oci"), { recursive: true });
    await sh("buildah", [...bh, "push", "-q", `localhost/${tag}:latest`, `oci:${layout}:latest`]);
    return snapshot(layout, "latest", join(work, "unpacked", `bh-${c.name}`));
  })();
  const [a, b] = await Promise.allSettled([tbuild, buildah]);
  if (a.status === "rejected") throw a.reason;
  if (b.status === "rejected") throw b.reason;
  results.set(c.name, { tbuild: a.value, buildah: b.value });
}

beforeAll(async () => {
  ({ work, root } = await makeStore("tbuild-buildah-diff-"));
  mkdirSync(join(work, "unpacked"), { recursive: true });
  mkdirSync(join(work, "tmp"), { recursive: true });
  bh = ["--root", join(work, "buildah", "root"), "--runroot", join(work, "buildah", "run"), "--storage-driver", "overlay"];
  const base = join(work, "base.tar");
  await sh(process.execPath, [CLI, "save", "--root", root, "--format", "oci", "-o", base, "busybox:test"]);
  await sh("buildah", [...bh, "pull", "-q", `oci-archive:${base}`]);
  const names = (await sh("buildah", [...bh, "images", "--format", "{{.Name}}:{{.Tag}}"])).trim();
  if (!names.includes("busybox:test")) throw new Error(`buildah did not name the base busybox:test: ${names}`);
  // Two at a time: one per core.
  const queue = [...CASES];
  const worker = async (): Promise<void> => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      try {
        await buildBoth(c);
      } catch (e) {
        results.set(c.name, e as Error);
      }
    }
  };
  await Promise.all([worker(), worker()]);
}, 180_000);

afterAll(async () => {
  // Overlay layers may still be mounted: let buildah release them before the folder goes.
  await sh("buildah", [...bh, "rm", "--all"]).catch(() => undefined);
  await sh("buildah", [...bh, "rmi", "--all", "--force"]).catch(() => undefined);
  await sh("umount", ["-R", join(work, "buildah", "root", "overlay")]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

function diffMaps(a: Map<string, string>, b: Map<string, string>, known: Record<string, string>): string[] {
  const out: string[] = [];
  for (const k of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const [x, y] = [a.get(k), b.get(k)];
    if (x === y || known[k] !== undefined) continue;
    out.push(`${k}: tbuild ${x ?? "(absent)"} | buildah ${y ?? "(absent)"}`);
  }
  return out;
}

describe("tbuild vs buildah", () => {
  it("builds at least 10 cases with both tools", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(10);
  });
  for (const c of CASES) {
    it(c.name, () => {
      const r = results.get(c.name);
      if (!r) throw new Error("not built");
      if (r instanceof Error) throw r;
      const known = { ...KNOWN["*"], ...(KNOWN[c.name] ?? {}) };
      expect(diffMaps(r.tbuild.tree, r.buildah.tree, known)).toEqual([]);
      const cfgA = new Map(Object.entries(r.tbuild.config).map(([k, v]) => [k, JSON.stringify(v)]));
      const cfgB = new Map(Object.entries(r.buildah.config).map(([k, v]) => [k, JSON.stringify(v)]));
      expect(diffMaps(cfgA, cfgB, known)).toEqual([]);
      expect(r.tbuild.tree.size).toBeGreaterThan(250); // the busybox base is really there
    });
  }
});

