import { existsSync, readFileSync } from 'node:fs';

export interface CgroupInfo {
  /** 2: unified only; 1: legacy hierarchies (possibly with a unified one beside them, "hybrid"). */
  version: 1 | 2;
  hybrid: boolean;
  /** Where the CPU controller's files (cpu.stat, cpu.max / cpu.cfs_quota_us) live, if anywhere. */
  cpuControllerRoot: string | undefined;
}

/** Reads the cgroup layout of this host from /proc/self/mountinfo. */
export function detectCgroups(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): CgroupInfo {
  const mounts = mountinfo.split('\n').flatMap((line) => {
    const [pre, post] = line.split(' - ');
    if (pre === undefined || post === undefined) return [];
    const mountPoint = pre.split(' ')[4] ?? '';
    const [fstype, , superOptions = ''] = post.split(' ');
    return [{ mountPoint, fstype, superOptions: superOptions.split(',') }];
  });
  const v1 = mounts.filter((m) => m.fstype === 'cgroup');
  const v2 = mounts.find((m) => m.fstype === 'cgroup2');
  if (v1.length === 0 && v2 !== undefined) {
    const controllers = readFileOr(`${v2.mountPoint}/cgroup.controllers`).split(/\s+/);
    return { version: 2, hybrid: false, cpuControllerRoot: controllers.includes('cpu') ? v2.mountPoint : undefined };
  }
  const cpu = v1.find((m) => m.superOptions.includes('cpu'));
  return { version: 1, hybrid: v2 !== undefined, cpuControllerRoot: cpu?.mountPoint };
}

function readFileOr(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}
