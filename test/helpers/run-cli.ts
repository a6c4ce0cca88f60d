// The CLI users run (dist/bundle/tbuild.js, the bundle the bin points at) as a child
// process, for the suites that need a real process: exit codes, signals, several builds at
// once. `env` is added to this process's environment; stdin holds `input` and then ends. In-process runs use ./cli.ts instead.
import { spawn, spawnSync, type SpawnSyncOptions } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../dist/bundle/tbuild.js", import.meta.url));

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SpawnCliOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string | Uint8Array;
  /** An open descriptor given to the CLI as its stdin instead of `input` (a shell's `< FILE`; spawnCliSync only). */
  readonly stdinFd?: number;
}

const spawnOptions = (opts: SpawnCliOptions) => ({ ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}), env: { ...process.env, ...opts.env } });

/** Run `tbuild args…` without blocking the event loop (a test's own servers keep answering). */
export function spawnCli(args: readonly string[], opts: SpawnCliOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { ...spawnOptions(opts), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on("error", () => undefined); // the CLI may exit without reading stdin
    child.stdin.end(opts.input ?? "");
  });
}

/** Run `tbuild args…` and wait for it (blocks the event loop). */
export function spawnCliSync(args: readonly string[], opts: SpawnCliOptions = {}): ProcessResult {
  const stdin: SpawnSyncOptions = opts.stdinFd !== undefined ? { stdio: [opts.stdinFd, "pipe", "pipe"] } : { input: opts.input ?? "" };
  const r = spawnSync(process.execPath, [CLI, ...args], { ...spawnOptions(opts), ...stdin, maxBuffer: 1 << 30 });
  return { code: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
