// build/run.ts: one RUN step: its user resolved against the parent rootfs, its mounts (mounts.ts), the
// command run by exec's runStep in the sandbox, its output streamed as progress, and the
// change list written as a layer straight into the store. A non-zero exit is E_RUN_EXIT.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { TbuildError } from "../util/index.js";
import { runStep, writeLayer, type Change, type PreparedRootfs, type RunMount as ExecMount, type Runtime } from "../exec/index.js";
import type { BuildContext } from "../context/index.js";
import type { RunStep } from "../plan/index.js";
import type { Store } from "../store/index.js";
import { withRunMounts } from "./mounts.js";
import type { SecretSource } from "./secrets.js";
export type { SecretSource } from "./secrets.js";
import { streamLayerToStore } from "./entries-layer.js";
import { resolveUser } from "./users.js";

export interface RunInput {
  readonly step: RunStep;
  readonly rootfs: PreparedRootfs;
  readonly runtime: Runtime;
  readonly store: Store;
  /** Scratch folder on the store's file system (overlay upper/work, secret files). */
  readonly scratch: string;
  readonly contextRoot: string;
  /** The opened context: binds of it honour .dockerignore. */
  readonly context?: BuildContext;
  /** The rootfs of a stage or image a `--mount from=` names. */
  readonly mountSource: (from: NonNullable<RunStep["mounts"][number]["from"]>) => Promise<string>;
  readonly secrets: ReadonlyMap<string, SecretSource>;
  readonly sourceDateEpoch?: number;
  readonly signal?: AbortSignal;
  readonly log: (stream: "stdout" | "stderr", data: string) => void;
}

/** The BuildKit wording of a failed RUN. */
function runExitMessage(argv: readonly string[], code: number): string {
  return `process "${argv.join(" ")}" did not complete successfully: exit code: ${code}`;
}

export async function executeRun(input: RunInput): Promise<{ diffId: `sha256:${string}`; size: number }> {
  const { step } = input;
  const user = await resolveUser(step.user, input.rootfs.rootfs, "USER");
  await mkdir(input.scratch, { recursive: true });
  // The pid in the name lets the next build find a killed build's leftovers (cleanup.ts).
  const work = await mkdtemp(join(input.scratch, `step-${process.pid}-`));
  try {
    const mountInput = {
      step,
      dataDir: input.store.dataDir,
      work,
      ...(input.context ? { context: input.context } : {}),
      contextRoot: input.contextRoot,
      mountSource: input.mountSource,
      secrets: input.secrets,
      ...(input.signal ? { signal: input.signal } : {}),
    };
    return await withRunMounts(mountInput, async (prepared) => {
      const mounts: ExecMount[] = [...prepared.mounts];
      if (step.script) {
        const file = join(work, "script");
        await writeFile(file, step.script.content, { mode: 0o755 });
        mounts.push({ type: "bind", source: file, target: step.script.path, readonly: true });
      }
      const out = (stream: "stdout" | "stderr"): Writable =>
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            input.log(stream, chunk.toString("utf8"));
            cb();
          },
        });
      const result = await runStep({
        argv: step.argv,
        env: [...step.env.map((e) => `${e.key}=${e.value}`), ...prepared.env],
        cwd: step.cwd || "/",
        user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
        hostname: "buildkitsandbox",
        // `default` is the host's network, as in docker build.
        network: step.network === "none" ? "none" : "host",
        mounts,
        lowerdirs: input.rootfs.lowerdirs,
        scratch: work,
        runtime: input.runtime,
        stdout: out("stdout"),
        stderr: out("stderr"),
        ...(input.signal ? { signal: input.signal } : {}),
      });
      try {
        if (result.exitCode !== 0) throw new TbuildError("E_RUN_EXIT", runExitMessage(step.argv, result.exitCode));
        const changes = withoutMountTargets(result.changes, [...prepared.targets, ...(step.script ? [step.script.path] : [])]);
        return await streamLayerToStore(input.store, (o) =>
          writeLayer(changes, result.changesRoot, o, { ...(input.sourceDateEpoch !== undefined ? { sourceDateEpoch: input.sourceDateEpoch } : {}), ...(input.signal ? { signal: input.signal } : {}) }),
        );
      } finally {
        await result.dispose();
      }
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Drop what lies at or under a mount target: a cache, secret, tmpfs or bind mount's content
 * never belongs in the layer (the runtime's empty stubs are already gone; this also covers
 * a target the image had).
 */
function withoutMountTargets(changes: readonly Change[], targets: readonly string[]): Change[] {
  const rel = targets.map((t) => t.replace(/^\/+|\/+$/g, "")).filter((t) => t !== "");
  if (rel.length === 0) return [...changes];
  return changes.filter((c) => !rel.some((t) => c.path === t || c.path.startsWith(`${t}/`)));
}
