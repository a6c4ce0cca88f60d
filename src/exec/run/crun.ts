// crun as the RUN sandbox. On a hybrid cgroup host whose cgroup2 hierarchy holds a
// controller, crun refuses to start any container (even with --cgroup-manager=disabled);
// there we hide /sys/fs/cgroup/unified in a private mount namespace for crun alone.
import { readFileSync } from "node:fs";
import { OciRuntime, type OciInvocation, type OciRuntimeOptions } from "./oci.js";

export class CrunRuntime extends OciRuntime {
  readonly name = "crun" as const;
  private readonly hideUnified: boolean;

  constructor(opts: OciRuntimeOptions = {}) {
    super("crun", opts);
    this.hideUnified = hybridWithV2Controllers();
  }

  protected invocation(logFile: string): OciInvocation {
    // Builds get no cgroup limits, so crun never touches cgroups.
    const globalFlags = ["--root", this.stateRoot, "--log", `file:${logFile}`, "--log-format", "json", "--cgroup-manager", "disabled"];
    if (!this.hideUnified) return { command: this.binary, prefix: [], globalFlags };
    return {
      command: "unshare",
      prefix: ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", 'mount -t tmpfs -o ro tbuild-hide-cgroup2 /sys/fs/cgroup/unified && exec "$@"', "crun", this.binary],
      globalFlags,
    };
  }
}

/** True when /sys/fs/cgroup is v1 (tmpfs) with a cgroup2 `unified` mount that has controllers. */
function hybridWithV2Controllers(): boolean {
  try {
    const mounts = readFileSync("/proc/self/mounts", "utf8");
    if (!/ \/sys\/fs\/cgroup\/unified cgroup2 /.test(mounts)) return false;
    return readFileSync("/sys/fs/cgroup/unified/cgroup.controllers", "utf8").trim() !== "";
  } catch {
    return false;
  }
}
