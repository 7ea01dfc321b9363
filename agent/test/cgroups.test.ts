// The cgroup layout and the unified hierarchy's mount point, from /proc/self/mountinfo lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroup2Mount, detectCgroups } from '../src/cgroups.js';

const v1 = '35 25 0:30 / /sys/fs/cgroup/memory rw,relatime shared:13 - cgroup cgroup rw,memory';
const unifiedHybrid = '30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate';
const unifiedOnly = '29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';

test('the v2 mount point: unified only, hybrid, and none', () => {
  assert.equal(cgroup2Mount(unifiedOnly), '/sys/fs/cgroup');
  assert.equal(cgroup2Mount([v1, unifiedHybrid].join('\n')), '/sys/fs/cgroup/unified');
  assert.equal(cgroup2Mount(v1), undefined);
  assert.deepEqual(detectCgroups([v1, unifiedHybrid].join('\n')), { version: 1, hybrid: true });
});
