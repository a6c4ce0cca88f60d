// run/spec.ts: the OCI config for a RUN (pure).
import { describe, expect, it } from "vitest";
import { buildRuntimeSpec, DEFAULT_CAPABILITIES, mountTargets, type SpecInput } from "../../../src/exec/index.js";

const input: SpecInput = {
  rootfs: "/r",
  argv: ["/bin/sh", "-c", "true"],
  env: ["PATH=/bin"],
  cwd: "/app",
  user: { uid: 0, gid: 0 },
  hostname: "h",
  network: "none",
  hostsPath: "/s/hosts",
  resolvConfPath: "/s/resolv.conf",
};

describe("buildRuntimeSpec", () => {
  it("isolates mount, pid, uts, ipc and network for network none", () => {
    const s = buildRuntimeSpec(input);
    expect(s.linux.namespaces.map((n) => n.type).sort()).toEqual(["ipc", "mount", "network", "pid", "uts"]);
    expect(buildRuntimeSpec({ ...input, network: "host" }).linux.namespaces.map((n) => n.type)).not.toContain("network");
  });

  it("mounts /proc, a minimal /dev, /sys read-only and binds hosts and resolv.conf read-only", () => {
    const s = buildRuntimeSpec({ ...input, mounts: [{ type: "tmpfs", target: "/cache" }] });
    const by = new Map(s.mounts.map((m) => [m.destination, m]));
    expect([...by.keys()]).toEqual(["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/etc/hosts", "/etc/resolv.conf", "/cache"]);
    expect(by.get("/etc/hosts")).toMatchObject({ type: "bind", source: "/s/hosts", options: expect.arrayContaining(["ro"]) });
    expect(by.get("/sys")?.options).toContain("ro");
    expect(s.linux.readonlyPaths).toContain("/proc/sys");
    expect(s.linux.maskedPaths).toContain("/proc/kcore");
  });

  it("gives root Docker's default capabilities and a non-root user none effective; never new privileges", () => {
    const root = buildRuntimeSpec(input);
    expect(root.process.capabilities.effective).toEqual([...DEFAULT_CAPABILITIES]);
    expect(root.process.capabilities.bounding).not.toContain("CAP_SYS_ADMIN");
    expect(root.process.noNewPrivileges).toBe(true);
    const app = buildRuntimeSpec({ ...input, user: { uid: 1000, gid: 1000, additionalGids: [100] } });
    expect(app.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [100] });
    expect(app.process.capabilities.effective).toEqual([]);
    expect(app.process.capabilities.bounding).toEqual([...DEFAULT_CAPABILITIES]);
  });

  it("passes argv, env, cwd, hostname and rootfs through unchanged", () => {
    const s = buildRuntimeSpec(input);
    expect(s.process).toMatchObject({ args: input.argv, env: input.env, cwd: "/app", terminal: false });
    expect(s.root).toEqual({ path: "/r", readonly: false });
    expect(s.hostname).toBe("h");
  });

  it("lists the mount targets the runtime may create as stubs", () => {
    expect(mountTargets({ ...input, mounts: [{ type: "bind", source: "/x", target: "/src" }] })).toEqual(["/proc", "/dev", "/sys", "/etc/hosts", "/etc/resolv.conf", "/src"]);
  });
});
