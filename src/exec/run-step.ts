// One RUN, end to end below the build engine: a writable root over the step's snapshot
// (overlay, or a copy when overlay cannot mount), the command in the sandbox, and the change
// list of what it did. The caller writes the layer (layer.ts) from `changesRoot`, then disposes.
import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { TbuildError } from "../util/index.js";
import type { Change } from "./changes.js";
import { diffOverlay, diffTrees } from "./diff.js";
import { canMountOverlay, mountOverlay, unmount } from "./overlay.js";
import type { Runtime } from "./run/runtime.js";
import { mountTargets, type ProcessSpec } from "./run/spec.js";
import { copyTree } from "./tree.js";

export interface RunStepInput extends ProcessSpec {
  /** The snapshot's overlay lowers (Snapshotter.prepareRootfs); the copy mode needs exactly one. */
  readonly lowerdirs: readonly string[];
  /** A directory for this step's scratch files (upper, work, mount point or copy). */
  readonly scratch: string;
  readonly runtime: Runtime;
  /** `auto` (default): overlay when this machine can mount it, else copy. */
  readonly mode?: "auto" | "overlay" | "copy";
  /** /etc/resolv.conf contents; default the host's without loopback name servers. */
  readonly resolvConf?: string;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  readonly signal?: AbortSignal;
}

export interface RunStepResult {
  readonly exitCode: number;
  readonly mode: "overlay" | "copy";
  /** What the command changed, sorted; empty-stub mount points the runtime created are left out. */
  readonly changes: readonly Change[];
  /** The directory to read the changed files from (the overlay upper dir or the copy). */
  readonly changesRoot: string;
  /** Remove the scratch files. Call after the layer is written; safe to call twice. */
  dispose(): Promise<void>;
}

/**
 * Run `input.argv` over the snapshot and collect its changes. The overlay is always
 * unmounted before this returns or throws; on a throw the scratch files are removed too.
 * A non-zero exit is returned, not thrown (the build turns it into E_RUN_EXIT).
 */
export async function runStep(input: RunStepInput): Promise<RunStepResult> {
  const dir = await mkdtemp(join(input.scratch, "run-"));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const mode = input.mode === undefined || input.mode === "auto" ? ((await canMountOverlay(input.scratch)) ? "overlay" : "copy") : input.mode;
    const hostsPath = join(dir, "hosts");
    const resolvConfPath = join(dir, "resolv.conf");
    await writeFile(hostsPath, `127.0.0.1\tlocalhost ${input.hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
    await writeFile(resolvConfPath, input.resolvConf ?? (await hostResolvConf()));
    const req = {
      ...input,
      hostsPath,
      resolvConfPath,
    };
    if (mode === "overlay") {
      const [upper, work, rootfs] = [join(dir, "upper"), join(dir, "work"), join(dir, "rootfs")];
      for (const d of [upper, work, rootfs]) await mkdir(d);
      await mountOverlay({ lowers: input.lowerdirs, upper, work, target: rootfs });
      try {
        const stubs = await missingTargets(rootfs, input);
        const exitCode = await input.runtime.run({ ...req, rootfs });
        const changes = await diffOverlay({ upper, lowers: input.lowerdirs, merged: rootfs, stubs });
        return { exitCode, mode, changes, changesRoot: upper, dispose };
      } finally {
        await unmount(rootfs);
      }
    }
    if (input.lowerdirs.length !== 1) throw new TbuildError("E_EXEC_RUNTIME", `copy mode needs exactly one lower directory, got ${input.lowerdirs.length}`);
    const lower = input.lowerdirs[0]!;
    const rootfs = join(dir, "rootfs");
    await copyTree(lower, rootfs);
    const stubs = await missingTargets(rootfs, input);
    const exitCode = await input.runtime.run({ ...req, rootfs });
    const changes = await diffTrees(lower, rootfs, { stubs });
    return { exitCode, mode, changes, changesRoot: rootfs, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** Mount targets (and their parents) the image lacks: the runtime creates them as stubs. */
async function missingTargets(rootfs: string, p: ProcessSpec): Promise<Set<string>> {
  const out = new Set<string>();
  for (const target of mountTargets(p)) {
    const parts = target.split("/").filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join("/");
      const there = await lstat(join(rootfs, rel)).then(
        () => true,
        () => false,
      );
      if (!there) out.add(rel);
    }
  }
  return out;
}

/** The host's resolv.conf without loopback name servers (unreachable from a sandbox), as Docker does. */
async function hostResolvConf(): Promise<string> {
  const text = await readFile("/etc/resolv.conf", "utf8").catch(() => "");
  const lines = text.split("\n").filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push("nameserver 8.8.8.8", "nameserver 8.8.4.4");
  return `${lines.filter((l) => l.trim() !== "").join("\n")}\n`;
}
