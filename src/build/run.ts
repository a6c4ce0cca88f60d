// build/run.ts: one RUN step: its user and mounts resolved against the parent rootfs, the
// command run by exec's runStep in the sandbox, its output streamed as progress, and the
// change list written as a layer straight into the store. A non-zero exit is E_RUN_EXIT.
import { createHash } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { TbuildError } from "../util/index.js";
import { runStep, writeLayer, type PreparedRootfs, type RunMount as ExecMount, type Runtime } from "../exec/index.js";
import type { RunStep } from "../plan/index.js";
import type { Store } from "../store/index.js";
import { streamLayerToStore } from "./entries-layer.js";
import { resolveUser } from "./users.js";

/** A `--secret`: its value from a file or an environment variable of tbuild's. */
export interface SecretSource {
  readonly id: string;
  readonly value: Uint8Array;
}

export interface RunInput {
  readonly step: RunStep;
  readonly rootfs: PreparedRootfs;
  readonly runtime: Runtime;
  readonly store: Store;
  /** Scratch folder on the store's file system (overlay upper/work, secret files). */
  readonly scratch: string;
  readonly contextRoot: string;
  /** The rootfs of a stage or image a `--mount from=` names. */
  readonly mountSource: (from: NonNullable<RunStep["mounts"][number]["from"]>) => Promise<string>;
  readonly secrets: ReadonlyMap<string, SecretSource>;
  readonly sourceDateEpoch?: number;
  readonly signal?: AbortSignal;
  readonly log: (stream: "stdout" | "stderr", data: string) => void;
}

/** The BuildKit wording of a failed RUN. */
export function runExitMessage(argv: readonly string[], code: number): string {
  return `process "${argv.join(" ")}" did not complete successfully: exit code: ${code}`;
}

export async function executeRun(input: RunInput): Promise<{ diffId: `sha256:${string}`; size: number }> {
  const { step } = input;
  const user = await resolveUser(step.user, input.rootfs.rootfs, "USER");
  await mkdir(input.scratch, { recursive: true });
  const work = await mkdtemp(join(input.scratch, "step-"));
  try {
    const mounts: ExecMount[] = [];
    const env = step.env.map((e) => `${e.key}=${e.value}`);
    for (const m of step.mounts) {
      switch (m.type) {
        case "bind": {
          const base = m.from ? await input.mountSource(m.from) : input.contextRoot;
          // Read-only always: a writable bind would change the snapshot or the context.
          mounts.push({ type: "bind", source: join(base, m.source ?? ""), target: m.target, readonly: true });
          break;
        }
        case "cache": {
          const id = createHash("sha256").update(m.id ?? m.target).digest("hex").slice(0, 32);
          const dir = join(input.store.dataDir, "cache-mounts", id);
          await mkdir(dir, { recursive: true, mode: m.mode ?? 0o755 });
          if (m.uid !== undefined || m.gid !== undefined) await chown(dir, m.uid ?? 0, m.gid ?? 0);
          mounts.push({ type: "bind", source: dir, target: m.target, readonly: m.readOnly });
          break;
        }
        case "tmpfs":
          mounts.push({ type: "tmpfs", target: m.target, ...(m.size !== undefined ? { options: [`size=${m.size}`] } : {}) });
          break;
        case "secret": {
          const id = m.id ?? m.source ?? "";
          const secret = input.secrets.get(id);
          if (!secret) {
            if (m.required) throw new TbuildError("E_USAGE", `secret ${id} not provided`, { hint: `pass --secret id=${id},src=FILE` });
            break;
          }
          if (m.env) env.push(`${m.env}=${Buffer.from(secret.value).toString("utf8")}`);
          if (m.env && m.target === "") break;
          const file = join(work, `secret-${createHash("sha256").update(id).digest("hex").slice(0, 16)}`);
          await writeFile(file, secret.value, { mode: 0o400 });
          await chmod(file, m.mode ?? 0o400);
          await chown(file, m.uid ?? 0, m.gid ?? 0);
          mounts.push({ type: "bind", source: file, target: m.target || `/run/secrets/${id}`, readonly: true });
          break;
        }
        case "ssh":
          throw new TbuildError("E_PLAN_INVALID", "RUN --mount=type=ssh is not supported", { hint: "fetch private sources with a --secret instead" });
      }
    }
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
      env,
      cwd: step.cwd || "/",
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      hostname: "buildkitsandbox",
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
      return await streamLayerToStore(input.store, (o) =>
        writeLayer(result.changes, result.changesRoot, o, { ...(input.sourceDateEpoch !== undefined ? { sourceDateEpoch: input.sourceDateEpoch } : {}), ...(input.signal ? { signal: input.signal } : {}) }),
      );
    } finally {
      await result.dispose();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
