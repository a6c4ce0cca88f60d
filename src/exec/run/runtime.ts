// The sandbox interface one RUN goes through, whatever runs it: an OCI runtime (crun, runc)
// or util-linux unshare. run-step.ts prepares the root file system and calls run().
import type { Writable } from "node:stream";
import type { ProcessSpec } from "./spec.js";

export type RuntimeName = "crun" | "runc" | "unshare";

export interface RunRequest extends ProcessSpec {
  /** Absolute path of the prepared root file system (an overlay mount or a copy). */
  readonly rootfs: string;
  /** Host files bind-mounted read-only at /etc/hosts and /etc/resolv.conf. */
  readonly hostsPath: string;
  readonly resolvConfPath: string;
  /** Receive the command's output; never ended by the runtime. Output is dropped when absent. */
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  readonly signal?: AbortSignal;
}

/**
 * Runs one command in an isolated sandbox (own mount, PID, UTS and IPC namespaces; network
 * too for `none`; the given environment only). Contract:
 * - resolves with the command's exit status (128 + n when it died of signal n); a non-zero
 *   status is not an error here: the build turns it into E_RUN_EXIT with the Dockerfile line;
 * - rejects with E_EXEC_RUNTIME when the sandbox could not be set up or the command could
 *   not be started, and with E_INTERRUPTED when `signal` aborted it (the process tree is
 *   killed first);
 * - MUST leave no container state and no mount behind on every path, success or failure;
 * - MUST NOT write to the root file system except through the command it runs (and the
 *   mount-point stubs it needs: see spec.ts mountTargets).
 */
export interface Runtime {
  readonly name: RuntimeName;
  run(req: RunRequest): Promise<number>;
}
