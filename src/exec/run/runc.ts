// runc as the RUN sandbox (the OCI reference runtime; slower to start than crun).
import { OciRuntime, type OciInvocation, type OciRuntimeOptions } from "./oci.js";

export class RuncRuntime extends OciRuntime {
  readonly name = "runc" as const;

  constructor(opts: OciRuntimeOptions = {}) {
    super("runc", opts);
  }

  protected invocation(logFile: string): OciInvocation {
    return { command: this.binary, prefix: [], globalFlags: ["--root", this.stateRoot, "--log", logFile, "--log-format", "json"] };
  }
}
