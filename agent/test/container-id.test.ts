// /proc/<pid>/cgroup as each runtime and cgroup driver writes it. Where the forms come from:
// - the kubelet's cgroup names: pkg/kubelet/cm/qos_container_manager_linux.go (kubepods, then
//   burstable / besteffort, Guaranteed pods directly under kubepods), pod_container_manager_linux.go
//   (`pod<uid>`), cgroup_manager_linux.go (the systemd driver: each level a `.slice` named after its
//   ancestors, the '-' of a UID escaped as '_'; a static pod's UID is its 32-hex config hash);
// - the container's own scope under the systemd driver: runc/crun `<prefix>-<id>.scope`, the prefix
//   from the runtime's cgroupsPath `slice:prefix:id` (containerd's CRI plugin "cri-containerd",
//   CRI-O "crio", Docker "docker", Podman "libpod", nerdctl "nerdctl"); under cgroupfs containerd and
//   Docker use the bare id, CRI-O `crio-<id>`; conmon's own scope is `crio-conmon-<id>.scope`;
// - without a kubelet: Docker's `/docker/<id>` (cgroupfs) and `/system.slice/docker-<id>.scope`,
//   containerd's `/<namespace>/<id>`; kind nodes are Docker containers running a kubelet with
//   cgroup root `/kubelet`;
// - the kernel (Documentation/admin-guide/cgroup-v2.rst): inside a cgroup namespace another pod's
//   path starts with `/..`; a removed cgroup of a zombie reads " (deleted)".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerOfCgroup, type CgroupContainer } from '../src/container-id.js';
import { containerIdFromCgroup } from '../src/process-info.js';

const id = '3f4e5d6c7b8a99aabbccddeeff00112233445566778899aabbccddeeff001122';
const inner = 'b1c2d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccddeeff00';
const uid = '8f6b1e2a-4c3d-4e5f-9a0b-1c2d3e4f5a6b';
const underscored = uid.replace(/-/g, '_');
const staticUid = '0f5a3e9a3e0f7e21b2ac5e5cfa7c8e3d';

/** v1 as the kernel lists it: one line per hierarchy, the unified (v2) line last in hybrid mode. */
const v1 = (path: string, unified = '/'): string =>
  [
    `12:hugetlb:${path}`,
    `11:cpu,cpuacct:${path}`,
    `10:memory:${path}`,
    `9:pids:${path}`,
    `1:name=systemd:${path}`,
    `0::${unified}`,
    '',
  ].join('\n');
const v2 = (path: string): string => `0::${path}\n`;

const cases: [string, string, CgroupContainer | undefined][] = [
  // Kubernetes, systemd driver
  [
    'containerd, systemd, v2, burstable',
    v2(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${underscored}.slice/cri-containerd-${id}.scope`),
    { id, podUid: uid, runtime: 'containerd' },
  ],
  [
    'containerd, systemd, v1, besteffort',
    v1(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${underscored}.slice/cri-containerd-${id}.scope`),
    { id, podUid: uid, runtime: 'containerd' },
  ],
  [
    'containerd, systemd, v2, guaranteed',
    v2(`/kubepods.slice/kubepods-pod${underscored}.slice/cri-containerd-${id}.scope`),
    { id, podUid: uid, runtime: 'containerd' },
  ],
  [
    'CRI-O, systemd, v2, besteffort',
    v2(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${underscored}.slice/crio-${id}.scope`),
    { id, podUid: uid, runtime: 'cri-o' },
  ],
  [
    'CRI-O, systemd, v1, burstable',
    v1(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${underscored}.slice/crio-${id}.scope`),
    { id, podUid: uid, runtime: 'cri-o' },
  ],
  [
    'CRI-O with crun on v2: the process in the scope\'s "container" subgroup',
    v2(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${underscored}.slice/crio-${id}.scope/container`),
    { id, podUid: uid, runtime: 'cri-o' },
  ],
  [
    'Docker (cri-dockerd), systemd, v1, burstable',
    v1(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${underscored}.slice/docker-${id}.scope`),
    { id, podUid: uid, runtime: 'docker' },
  ],
  [
    'static pod (config-hash UID), systemd, v2',
    v2(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${staticUid}.slice/cri-containerd-${id}.scope`),
    { id, podUid: staticUid, runtime: 'containerd' },
  ],
  // Kubernetes, cgroupfs driver (containerd and Docker write the bare id)
  ['bare id, cgroupfs, v1, burstable', v1(`/kubepods/burstable/pod${uid}/${id}`), { id, podUid: uid, runtime: '' }],
  ['bare id, cgroupfs, v2, besteffort', v2(`/kubepods/besteffort/pod${uid}/${id}`), { id, podUid: uid, runtime: '' }],
  ['bare id, cgroupfs, v1, guaranteed', v1(`/kubepods/pod${uid}/${id}`), { id, podUid: uid, runtime: '' }],
  ['static pod, cgroupfs, v1', v1(`/kubepods/burstable/pod${staticUid}/${id}`), { id, podUid: staticUid, runtime: '' }],
  ['CRI-O, cgroupfs, v2, burstable', v2(`/kubepods/burstable/pod${uid}/crio-${id}`), { id, podUid: uid, runtime: 'cri-o' }],
  // An agent in a pod with its own cgroup namespace (v2) sees other pods' paths relative to its own cgroup
  [
    'containerd, systemd, v2, read inside a cgroup namespace',
    v2(`/../../kubepods-besteffort-pod${underscored}.slice/cri-containerd-${id}.scope`),
    { id, podUid: uid, runtime: 'containerd' },
  ],
  // v1 with the container's cgroup in some hierarchies only
  [
    'v1: the id on the cpu and memory controllers only',
    [
      '5:devices:/',
      `4:cpu,cpuacct:/kubepods/burstable/pod${uid}/${id}`,
      `3:memory:/kubepods/burstable/pod${uid}/${id}`,
      '1:name=systemd:/',
      '',
    ].join('\n'),
    { id, podUid: uid, runtime: '' },
  ],
  [
    'v1 hybrid: the unified line names the container, the v1 lines the root',
    v1('/', `/system.slice/docker-${id}.scope`),
    { id, podUid: '', runtime: 'docker' },
  ],
  // Docker and containerd without Kubernetes
  ['Docker, cgroupfs, v1', v1(`/docker/${id}`), { id, podUid: '', runtime: 'docker' }],
  ['Docker, cgroupfs, v2', v2(`/docker/${id}`), { id, podUid: '', runtime: 'docker' }],
  ['Docker, systemd, v2', v2(`/system.slice/docker-${id}.scope`), { id, podUid: '', runtime: 'docker' }],
  ['Docker, systemd, v1', v1(`/system.slice/docker-${id}.scope`), { id, podUid: '', runtime: 'docker' }],
  ['containerd (ctr, nerdctl), cgroupfs, namespace default', v2(`/default/${id}`), { id, podUid: '', runtime: 'containerd' }],
  ['containerd, cgroupfs, namespace k8s.io', v1(`/k8s.io/${id}`), { id, podUid: '', runtime: 'containerd' }],
  ['nerdctl, systemd', v2(`/system.slice/nerdctl-${id}.scope`), { id, podUid: '', runtime: 'containerd' }],
  ['Podman with crun, systemd, v2', v2(`/machine.slice/libpod-${id}.scope/container`), { id, podUid: '', runtime: 'podman' }],
  ['a bare id under an unknown parent', v2(`/actions_job/${id}`), { id, podUid: '', runtime: '' }],
  // Nested: the innermost container
  [
    'kind: a pod in a node container, systemd, v2',
    v2(
      `/system.slice/docker-${id}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${underscored}.slice/cri-containerd-${inner}.scope`,
    ),
    { id: inner, podUid: uid, runtime: 'containerd' },
  ],
  [
    "kind: the node's own kubelet",
    v2(`/system.slice/docker-${id}.scope/kubelet.slice/kubelet.service`),
    { id, podUid: '', runtime: 'docker' },
  ],
  ['Docker in Docker, cgroupfs, v1', v1(`/docker/${id}/docker/${inner}`), { id: inner, podUid: '', runtime: 'docker' }],
  [
    'v1 where one hierarchy sees only the outer container: the deepest wins',
    [`4:cpu,cpuacct:/docker/${id}`, `3:memory:/docker/${id}/docker/${inner}`, ''].join('\n'),
    { id: inner, podUid: '', runtime: 'docker' },
  ],
  // The conmon monitors are not containers
  [
    'CRI-O conmon, systemd',
    v2(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${underscored}.slice/crio-conmon-${id}.scope`),
    undefined,
  ],
  ['Podman conmon, systemd', v2(`/machine.slice/libpod-conmon-${id}.scope`), undefined],
  // Not in a container
  ['the root', v2('/'), undefined],
  ['init', v2('/init.scope'), undefined],
  ['a user session', v2('/user.slice/user-1000.slice/session-3.scope'), undefined],
  ['a system service', v1('/system.slice/containerd.service'), undefined],
  ['a pod cgroup itself (the pause process is in a container of its own)', v2(`/kubepods/burstable/pod${uid}`), undefined],
  ['empty', '', undefined],
  // Garbage
  ['an id one digit short', v2(`/docker/${id.slice(1)}`), undefined],
  ['an id one digit long', v2(`/docker/${id}0`), undefined],
  ["Docker's short id", v2(`/docker/${id.slice(0, 12)}`), undefined],
  ['uppercase hex', v2(`/system.slice/docker-${id.toUpperCase()}.scope`), undefined],
  ['a truncated line', `0::/kubepods/burstable/pod${uid}/${id.slice(0, 30)}`, undefined],
  ['an id without the hierarchy fields', `/docker/${id}\n`, undefined],
  ['an unknown scope prefix', v2(`/system.slice/rkt-${id}.scope`), undefined],
  ['binary noise', '\u0000\u0001:::\n::\n:', undefined],
];

for (const [name, cgroup, expected] of cases) {
  test(`containerOfCgroup: ${name}`, () => {
    assert.deepEqual(containerOfCgroup(cgroup), expected);
    assert.equal(containerIdFromCgroup(cgroup), expected?.id ?? '');
  });
}

test('a zombie whose cgroup was removed still names its container', () => {
  assert.deepEqual(containerOfCgroup(`0::/system.slice/docker-${id}.scope (deleted)\n`), { id, podUid: '', runtime: 'docker' });
});

test('a pod UID that is not one is left out, the container id kept', () => {
  assert.deepEqual(containerOfCgroup(v2(`/kubepods/burstable/pod${uid.slice(0, 35)}x/${id}`)), { id, podUid: '', runtime: '' });
  assert.deepEqual(containerOfCgroup(v2(`/kubepods/burstable/pod${'_'.repeat(36)}/${id}`)), { id, podUid: '', runtime: '' });
});
