// The world a command runs in, passed in by main.ts (citty's runMain idea): streams, the
// environment and the working directory. Commands never touch `process` themselves.

export interface OutStream {
  write(chunk: string | Uint8Array): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CliIO {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM; long operations pass it down. */
  readonly signal: AbortSignal;
}

/** What every command receives: parsed options, positionals, the io, and shared helpers. */
export interface CommandContext<V = Record<string, unknown>> {
  readonly io: CliIO;
  readonly values: V;
  readonly positionals: readonly string[];
  /** The store folder: --root, else $TBUILD_ROOT, else the per-user data folder. */
  readonly root: string;
  readonly debug: boolean;
  /** Register a source text so error frames can show its lines. */
  registerSource(file: string, text: string): void;
}

/** All of a stream (stdin: a Dockerfile, a password) as UTF-8 text. */
export async function readText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer | string>) chunks.push(typeof c === "string" ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString("utf8");
}
