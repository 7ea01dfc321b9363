// The cgroup layout and the unified hierarchy's mount point, from /proc/self/mountinfo lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroup2Mount, cpuHierarchy, detectCgroups } from '../src/cgroups.js';

const v1 = '35 25 0:30 / /sys/fs/cgroup/memory rw,relatime shared:13 - cgroup cgroup rw,memory';
const unifiedHybrid = '30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate';
const unifiedOnly = '29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';

test('the v2 mount point: unified only, hybrid, and none', () => {
  assert.equal(cgroup2Mount(unifiedOnly), '/sys/fs/cgroup');
  assert.equal(cgroup2Mount([v1, unifiedHybrid].join('\n')), '/sys/fs/cgroup/unified');
  assert.equal(cgroup2Mount(v1), undefined);
  assert.deepEqual(detectCgroups([v1, unifiedHybrid].join('\n')), { version: 1, hybrid: true });
});

test('the CPU controller hierarchy: the v1 mount with the cpu option, else the unified one', () => {
  const cpu = '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu';
  const cpuacct = '33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct';
  const combined = '34 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct';
  assert.deepEqual(cpuHierarchy([v1, unifiedHybrid, cpuacct, cpu].join('\n')), { version: 1, mount: '/sys/fs/cgroup/cpu', root: '/' });
  assert.deepEqual(cpuHierarchy([unifiedHybrid, combined].join('\n')), { version: 1, mount: '/sys/fs/cgroup/cpu,cpuacct', root: '/' });
  assert.deepEqual(cpuHierarchy(unifiedOnly), { version: 2, mount: '/sys/fs/cgroup', root: '/' });
  assert.equal(cpuHierarchy(v1), undefined);
});
