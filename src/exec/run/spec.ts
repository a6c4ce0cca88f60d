// PURE: builds the OCI runtime-spec config.json for one RUN: the namespaces, mounts,
// capabilities and masked paths of Docker's default profile, minus cgroup limits (a build
// step gets the machine). crun.ts and runc.ts write it into a bundle; unshare.ts reads the
// same fields to reproduce what it can by hand.

/** `none`: a fresh network namespace holding only `lo`; `host`: the host's network. */
export type NetworkMode = "none" | "host";

export interface RunUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids?: readonly number[];
}

/** An extra mount (RUN --mount): a host path bound in, or a fresh tmpfs. */
export interface RunMount {
  readonly type: "bind" | "tmpfs";
  /** Host path for `bind`. */
  readonly source?: string;
  /** Absolute path inside the container. */
  readonly target: string;
  readonly readonly?: boolean;
  readonly options?: readonly string[];
}

/** What runs, and as whom: the part of a RUN that is the same for every runtime. */
export interface ProcessSpec {
  readonly argv: readonly string[];
  /** `KEY=value` pairs: the image's environment only, nothing from the host. */
  readonly env: readonly string[];
  /** Absolute working directory inside the container. */
  readonly cwd: string;
  readonly user: RunUser;
  readonly hostname: string;
  readonly network: NetworkMode;
  readonly mounts?: readonly RunMount[];
}

export interface SpecInput extends ProcessSpec {
  /** Absolute host path of the prepared root file system. */
  readonly rootfs: string;
  /** Host files bind-mounted read-only at /etc/hosts and /etc/resolv.conf. */
  readonly hostsPath: string;
  readonly resolvConfPath: string;
}

/** The subset of the OCI runtime spec (v1.0.2) tbuild writes. */
export interface OciSpec {
  readonly ociVersion: string;
  readonly process: {
    readonly terminal: boolean;
    readonly user: { uid: number; gid: number; additionalGids?: number[] };
    readonly args: string[];
    readonly env: string[];
    readonly cwd: string;
    readonly capabilities: Record<"bounding" | "effective" | "permitted" | "inheritable" | "ambient", string[]>;
    readonly rlimits: { type: string; hard: number; soft: number }[];
    readonly noNewPrivileges: boolean;
  };
  readonly root: { path: string; readonly: boolean };
  readonly hostname: string;
  readonly mounts: { destination: string; type: string; source: string; options?: string[] }[];
  readonly linux: {
    readonly namespaces: { type: string }[];
    readonly maskedPaths: string[];
    readonly readonlyPaths: string[];
  };
}

/** Docker's default capability set (moby oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Docker's masked and read-only /proc and /sys paths (moby oci/defaults.go). */
const MASKED_PATHS: readonly string[] = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];
const READONLY_PATHS: readonly string[] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/**
 * Paths inside the root that the runtime mounts over. Where the image lacks them the runtime
 * creates them; the RUN step drops such empty stubs from the layer (BuildKit does the same).
 */
export function mountTargets(p: ProcessSpec): string[] {
  return ["/proc", "/dev", "/sys", "/etc/hosts", "/etc/resolv.conf", ...(p.mounts ?? []).map((m) => m.target)];
}

/**
 * The config.json for `input`. Namespaces: mount, pid, uts, ipc (and network for `none`).
 * Mounts: /proc, a tmpfs /dev (the runtime adds null, zero, full, random, urandom, tty),
 * /dev/pts, /dev/shm, /dev/mqueue, a read-only /sys, read-only /etc/hosts and
 * /etc/resolv.conf, then the caller's mounts. Capabilities: Docker's default bounding set;
 * effective and permitted only for uid 0 (a non-root USER starts with none, as the kernel
 * gives a non-root exec); no new privileges. No seccomp profile and no cgroup limits.
 */
export function buildRuntimeSpec(input: SpecInput): OciSpec {
  const caps = [...DEFAULT_CAPABILITIES];
  const root = input.user.uid === 0;
  const user: { uid: number; gid: number; additionalGids?: number[] } = { uid: input.user.uid, gid: input.user.gid };
  if (input.user.additionalGids && input.user.additionalGids.length > 0) user.additionalGids = [...input.user.additionalGids];
  const namespaces = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  if (input.network === "none") namespaces.push({ type: "network" });
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user,
      args: [...input.argv],
      env: [...input.env],
      cwd: input.cwd,
      capabilities: { bounding: caps, effective: root ? caps : [], permitted: root ? caps : [], inheritable: [], ambient: [] },
      rlimits: [], // inherited from tbuild: raising them needs CAP_SYS_RESOURCE, which CI often lacks
      noNewPrivileges: true,
    },
    root: { path: input.rootfs, readonly: false },
    hostname: input.hostname,
    mounts: [
      { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/etc/hosts", type: "bind", source: input.hostsPath, options: ["rbind", "ro", "nosuid", "nodev"] },
      { destination: "/etc/resolv.conf", type: "bind", source: input.resolvConfPath, options: ["rbind", "ro", "nosuid", "nodev"] },
      ...(input.mounts ?? []).map((m) => extraMount(m)),
    ],
    linux: {
      namespaces,
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
}

function extraMount(m: RunMount): { destination: string; type: string; source: string; options: string[] } {
  const ro = m.readonly ? ["ro"] : ["rw"];
  if (m.type === "tmpfs") return { destination: m.target, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", ...ro, ...(m.options ?? [])] };
  return { destination: m.target, type: "bind", source: m.source ?? "", options: ["rbind", ...ro, ...(m.options ?? [])] };
}
