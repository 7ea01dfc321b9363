// Linux capabilities for the least-privilege test: the chart's list of the agent's capabilities,
// a process's capability sets from /proc/<pid>/status, and `setpriv` argv that leaves a root
// process exactly a given set.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** Capability numbers from include/uapi/linux/capability.h (the names Kubernetes uses, without CAP_). */
const CAPABILITY_BITS: Record<string, number> = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  DAC_READ_SEARCH: 2,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  LINUX_IMMUTABLE: 9,
  NET_BIND_SERVICE: 10,
  NET_BROADCAST: 11,
  NET_ADMIN: 12,
  NET_RAW: 13,
  IPC_LOCK: 14,
  IPC_OWNER: 15,
  SYS_MODULE: 16,
  SYS_RAWIO: 17,
  SYS_CHROOT: 18,
  SYS_PTRACE: 19,
  SYS_PACCT: 20,
  SYS_ADMIN: 21,
  SYS_BOOT: 22,
  SYS_NICE: 23,
  SYS_RESOURCE: 24,
  SYS_TIME: 25,
  SYS_TTY_CONFIG: 26,
  MKNOD: 27,
  LEASE: 28,
  AUDIT_WRITE: 29,
  AUDIT_CONTROL: 30,
  SETFCAP: 31,
  MAC_OVERRIDE: 32,
  MAC_ADMIN: 33,
  SYSLOG: 34,
  WAKE_ALARM: 35,
  BLOCK_SUSPEND: 36,
  AUDIT_READ: 37,
  PERFMON: 38,
  BPF: 39,
  CHECKPOINT_RESTORE: 40,
};

/** The bit mask of `names` (Kubernetes spelling: `BPF`, `SYS_PTRACE`; a `CAP_` prefix is accepted). */
export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const raw of names) {
    const name = raw.toUpperCase().replace(/^CAP_/, '');
    const bit = CAPABILITY_BITS[name];
    if (bit === undefined) throw new Error(`unknown capability ${raw}`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

/** The names of the capabilities in `mask`, in bit order. */
export function capabilityNames(mask: bigint): string[] {
  return Object.entries(CAPABILITY_BITS)
    .filter(([, bit]) => (mask >> BigInt(bit)) & 1n)
    .map(([name]) => name);
}

export interface CapabilitySets {
  inheritable: bigint;
  permitted: bigint;
  effective: bigint;
  bounding: bigint;
  ambient: bigint;
}

/** The capability sets of a running process, from the Cap* lines of /proc/<pid>/status. */
export function processCapabilities(pid: number): CapabilitySets {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): bigint => {
    const m = new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status);
    if (m === null) throw new Error(`/proc/${pid}/status has no ${name} line`);
    return BigInt(`0x${m[1]}`);
  };
  return {
    inheritable: field('CapInh'),
    permitted: field('CapPrm'),
    effective: field('CapEff'),
    bounding: field('CapBnd'),
    ambient: field('CapAmb'),
  };
}

/** The `agent.capabilities` list of the chart's values.yaml. */
export function chartAgentCapabilities(valuesYaml: string): string[] {
  const values = parse(valuesYaml) as { agent?: { capabilities?: unknown } } | null;
  const list = values?.agent?.capabilities;
  if (!Array.isArray(list) || !list.every((c) => typeof c === 'string')) {
    throw new Error(`values.yaml: agent.capabilities is not a list of names: ${JSON.stringify(list)}`);
  }
  return list;
}

/** Fails loudly when util-linux's setpriv, which the least-privilege test runs the agent under, is missing. */
export function requireSetpriv(): void {
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`setpriv (util-linux) is required to run the agent with only the chart's capabilities: ${String(err)}`);
  }
}

/**
 * The argv prefix that runs a command as root with exactly `names`: the bounding set is cut to them,
 * and so is the inheritable set, because for uid 0 execve gives permitted = inheritable | bounding
 * (and effective = permitted). No ambient capabilities are set.
 */
export function setprivArgv(names: readonly string[]): string[] {
  const list = ['-all', ...capabilityNames(capabilityMask(names)).map((n) => `+${n.toLowerCase()}`)].join(',');
  return ['setpriv', `--inh-caps=${list}`, `--bounding-set=${list}`, '--'];
}
