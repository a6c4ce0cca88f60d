// The in-process CLI harness (STYLE.md "CLI tests"): run main(argv, io) with captured
// stdout/stderr, a stdin that holds `stdin` and then ends, and only the environment given.
import { PassThrough } from "node:stream";
import { main } from "../../src/cli/main.js";

export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export interface RunCliOptions {
  /** Working directory (default: the test process's). */
  readonly cwd?: string;
  /** The whole environment the CLI sees (default: empty). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** What stdin holds before it ends (default: nothing). */
  readonly stdin?: string | Uint8Array;
  readonly signal?: AbortSignal;
}

/** Run `tbuild argv…` in this process and return its exit code and output. */
export async function runCli(argv: readonly string[], opts: RunCliOptions = {}): Promise<CliResult> {
  let out = "";
  let err = "";
  const stdin = new PassThrough();
  stdin.end(opts.stdin ?? "");
  const code = await main(argv, {
    stdout: { write: (s: string | Uint8Array) => (out += String(s)) },
    stderr: { write: (s: string | Uint8Array) => (err += String(s)) },
    stdin,
    env: opts.env ?? {},
    cwd: opts.cwd ?? process.cwd(),
    signal: opts.signal ?? new AbortController().signal,
  });
  return { code, out, err };
}
