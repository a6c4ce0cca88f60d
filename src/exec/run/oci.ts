// Shared driver for OCI runtimes (crun.ts, runc.ts): write a bundle, `<rt> run --bundle B
// ID` in the foreground with piped output, kill on abort, `delete -f` whatever state is left.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TbuildError } from "../../util/index.js";
import type { RunRequest, Runtime, RuntimeName } from "./runtime.js";
import { buildRuntimeSpec } from "./spec.js";

export interface OciRuntimeOptions {
  /** The runtime binary (default: the name, looked up on PATH). */
  readonly binary?: string;
  /** The runtime's state directory (`--root`); default /run/tbuild/<name>. */
  readonly stateRoot?: string;
  /** Where bundles are written (default the OS temp directory). */
  readonly bundleParent?: string;
}

/** A command line to start the runtime with: a prefix (a wrapper) and the runtime's global flags. */
export interface OciInvocation {
  readonly command: string;
  readonly prefix: readonly string[];
  readonly globalFlags: readonly string[];
}

export abstract class OciRuntime implements Runtime {
  abstract readonly name: RuntimeName;
  protected readonly binary: string;
  protected readonly stateRoot: string;
  private readonly bundleParent: string;

  constructor(defaultBinary: string, opts: OciRuntimeOptions) {
    this.binary = opts.binary ?? defaultBinary;
    this.stateRoot = opts.stateRoot ?? join("/run/tbuild", defaultBinary);
    this.bundleParent = opts.bundleParent ?? tmpdir();
  }

  /** How to invoke the runtime, given its log file (subclasses add wrappers and flags). */
  protected abstract invocation(logFile: string): OciInvocation;

  async run(req: RunRequest): Promise<number> {
    req.signal?.throwIfAborted();
    const id = `tbuild-${randomBytes(8).toString("hex")}`;
    await mkdir(this.stateRoot, { recursive: true, mode: 0o700 });
    const bundle = await mkdtemp(join(this.bundleParent, "tbuild-bundle-"));
    const log = join(bundle, "runtime.log");
    const inv = this.invocation(log);
    const exec = (args: string[]): Promise<{ code: number; out: string }> => runQuiet(inv.command, [...inv.prefix, ...inv.globalFlags, ...args]);
    try {
      await writeFile(join(bundle, "config.json"), JSON.stringify(buildRuntimeSpec(req)));
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(inv.command, [...inv.prefix, ...inv.globalFlags, "run", "--bundle", bundle, id], { stdio: ["ignore", "pipe", "pipe"] });
        child.stdout.on("data", (d: Buffer) => req.stdout?.write(d));
        child.stderr.on("data", (d: Buffer) => req.stderr?.write(d));
        const onAbort = (): void => void exec(["kill", id, "KILL"]);
        req.signal?.addEventListener("abort", onAbort, { once: true });
        child.on("error", (e) => reject(new TbuildError("E_EXEC_RUNTIME", `${this.name}: cannot start ${inv.command}: ${e.message}`, { cause: e })));
        child.on("close", (c, sig) => {
          req.signal?.removeEventListener("abort", onAbort);
          resolve(c ?? 128 + signalNumber(sig));
        });
      });
      if (req.signal?.aborted) throw new TbuildError("E_INTERRUPTED", `RUN interrupted (${this.name} container ${id} killed)`);
      if (code !== 0) {
        const why = await runtimeError(log);
        if (why) throw new TbuildError("E_EXEC_RUNTIME", `${this.name}: ${why}`, { hint: "the sandbox could not start the command" });
      }
      return code;
    } finally {
      // A foreground `run` deletes its container when it exits; force it only when state is
      // left (abort, a runtime failure), which saves a process on the common path.
      if (await exists(join(this.stateRoot, id))) await exec(["delete", "-f", id]);
      await rm(bundle, { recursive: true, force: true });
    }
  }
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** The first error-level message in a crun/runc JSON log, if any. */
async function runtimeError(log: string): Promise<string | undefined> {
  const text = await readFile(log, "utf8").catch(() => "");
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const rec = JSON.parse(line) as { level?: string; msg?: string };
      if (rec.level === "error" && rec.msg) return rec.msg;
    } catch {
      return line;
    }
  }
  return undefined;
}

function runQuiet(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", () => resolve({ code: -1, out }));
    child.on("close", (c) => resolve({ code: c ?? -1, out }));
  });
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };
export function signalNumber(sig: NodeJS.Signals | null): number {
  return sig === null ? 0 : (SIGNALS[sig] ?? 0);
}
