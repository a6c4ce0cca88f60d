// Running the compiled CLI as a child process with a temporary --root (store suites).
import { spawn, spawnSync } from "node:child_process";
import { expect } from "vitest";
import { CLI, spawnCli, spawnCliSync, type ProcessResult, type SpawnCliOptions } from "../helpers/run-cli.js";

/** Run `tbuild ARGS` with TBUILD_ROOT=root, synchronously. */
export function tb(root: string, args: string[], opts: { input?: Buffer; stdinFd?: number; cwd?: string } = {}): ProcessResult {
  return spawnCliSync(args, { ...opts, env: { TBUILD_ROOT: root } });
}

/** Run and expect success. */
export function tbOk(root: string, args: string[], opts: { input?: Buffer; cwd?: string } = {}): string {
  const r = tb(root, args, opts);
  if (r.code !== 0) throw new Error(`tbuild ${args.join(" ")} exited ${r.code}\n${r.stderr}`);
  return r.stdout;
}

/** Start `tbuild ARGS` without waiting. */
export function tbSpawn(root: string, args: string[]) {
  return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, TBUILD_ROOT: root }, stdio: ["ignore", "pipe", "pipe"] });
}

export function sh(cmd: string, args: string[]): ProcessResult {
  const r = spawnSync(cmd, args, { maxBuffer: 1 << 28 });
  if (r.error) throw new Error(`${cmd} could not run: ${r.error.message} (run test/setup/install-tools.sh)`);
  return { code: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** sh, expecting exit 0 (else the test fails with the command and its stderr); its stdout. */
export function shOk(cmd: string, args: string[]): string {
  const r = sh(cmd, args);
  expect(r.code, `${cmd} ${args.join(" ")}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** spawnCli, expecting exit 0 (else the test fails with the arguments and stderr); its stdout. */
export async function spawnCliOk(args: string[], opts: SpawnCliOptions): Promise<string> {
  const r = await spawnCli(args, opts);
  expect(r.code, `${args.join(" ")}\n${r.stderr}`).toBe(0);
  return r.stdout;
}
