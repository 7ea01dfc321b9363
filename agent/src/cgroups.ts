import { readFileSync } from 'node:fs';

export interface CgroupInfo {
  /** 2: unified only; 1: legacy hierarchies (possibly with a unified one beside them, "hybrid"). */
  version: 1 | 2;
  hybrid: boolean;
}

/** Reads the cgroup layout of this host from /proc/self/mountinfo. */
export function detectCgroups(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): CgroupInfo {
  const fstypes = mountinfo.split('\n').flatMap((line) => {
    const post = line.split(' - ')[1];
    return post === undefined ? [] : [post.split(' ')[0]];
  });
  const v1 = fstypes.includes('cgroup');
  const v2 = fstypes.includes('cgroup2');
  return v2 && !v1 ? { version: 2, hybrid: false } : { version: 1, hybrid: v2 };
}

/** Where the unified (v2) hierarchy is mounted, if it is: the kernel's cgroup id of a process is its v2 directory's inode. */
export function cgroup2Mount(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.split(' ')[0] === 'cgroup2') return pre?.split(' ')[4];
  }
  return undefined;
}
