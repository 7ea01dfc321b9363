// service/version and container labels from what a process's /proc and the kernel's process event say.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  containerIdFromCgroup,
  isKernelThread,
  otelResource,
  readProcessInfo,
  serviceName,
  ServiceVersions,
  type ProcessInfo,
} from '../src/process-info.js';

const user = { exe: '/usr/bin/short_lived', kernelThread: false, otelName: undefined };

test('serviceName: the program, whatever the process', () => {
  assert.equal(serviceName({ ...user, comm: 'short_lived' }), 'short_lived');
  // A comm cut at 15 bytes is completed from the executable's file name, only when that extends it.
  assert.equal(serviceName({ ...user, comm: 'kube-controller', exe: '/usr/local/bin/kube-controller-manager' }), 'kube-controller-manager');
  assert.equal(serviceName({ ...user, comm: 'backup.sh', exe: '/usr/bin/bash' }), 'backup.sh');
  assert.equal(serviceName({ ...user, comm: 'python3-wrapped', exe: '/usr/bin/python3.12' }), 'python3-wrapped');
});

test('serviceName: kernel threads are one service; OTEL names win for user processes only', () => {
  for (const comm of ['kworker/0:2-events', 'kdamond.0', 'rcu_preempt', 'swapper/1']) {
    assert.equal(serviceName({ comm, exe: '', kernelThread: true, otelName: undefined }), 'kernel');
  }
  assert.equal(serviceName({ ...user, comm: 'java', otelName: 'checkout' }), 'checkout');
  assert.equal(serviceName({ comm: 'kworker/1:0', exe: '', kernelThread: true, otelName: 'checkout' }), 'kernel');
});

test('serviceName: executables that are not files fall back to the comm, with no per-process part', () => {
  const cut = 'kube-controller'; // 15 bytes: would be completed from a file name
  assert.equal(serviceName({ ...user, comm: cut, exe: '/usr/local/bin/kube-controller-manager (deleted)' }), cut);
  assert.equal(serviceName({ ...user, comm: cut, exe: '/memfd:kube-controller-manager (deleted)' }), cut);
  assert.equal(serviceName({ ...user, comm: cut, exe: '/memfd:kube-controller-manager' }), cut);
  assert.equal(serviceName({ ...user, comm: cut, exe: 'anon_inode:[kube-controller-manager]' }), cut);
  assert.equal(serviceName({ ...user, comm: 'memfd:sealed-91', exe: '/memfd:sealed-91 (deleted)' }), 'memfd:sealed');
  assert.equal(serviceName({ ...user, comm: 'memfd:sealed-92', exe: '/memfd:sealed-92 (deleted)' }), 'memfd:sealed');
  assert.equal(serviceName({ ...user, comm: 'memfd:runc', exe: '/memfd:runc (deleted)' }), 'memfd:runc');
});

test('serviceName: a process nothing could name is "unknown", never one service per pid', () => {
  assert.equal(serviceName({ comm: '', exe: '', kernelThread: false, otelName: undefined }), 'unknown');
});

test('isKernelThread: PF_KTHREAD in /proc/<pid>/stat, past a comm with spaces and parentheses', () => {
  assert.equal(isKernelThread('2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 32 0 0'), true);
  assert.equal(isKernelThread('16436 (a (b) c) R 16383 16383 10599 0 -1 4194304 122 0 0 0'), false);
  assert.equal(isKernelThread(''), false);
});

test('readProcessInfo: /proc when it can be read, the kernel event when the process is gone', () => {
  const proc = mkdtempSync(join(tmpdir(), 'kiln-proc-'));
  try {
    mkdirSync(join(proc, '10'));
    writeFileSync(join(proc, '10/comm'), 'renamed\n');
    symlinkSync('/usr/bin/short_lived', join(proc, '10/exe'));
    writeFileSync(join(proc, '10/environ'), 'OTEL_RESOURCE_ATTRIBUTES=service.version=7\0');
    const live = readProcessInfo(10, 0, { comm: 'short_lived', kernelThread: false }, proc);
    assert.deepEqual(
      [live.comm, live.service, live.exe, live.version, live.unreadable],
      ['renamed', 'renamed', '/usr/bin/short_lived', '7', false],
    );

    const gone = readProcessInfo(11, 2, { comm: 'short_lived', kernelThread: false }, proc);
    assert.deepEqual(
      [gone.comm, gone.service, gone.exe, gone.version, gone.unreadable],
      ['short_lived', 'short_lived', '', 'unknown', true],
    );
    const kthread = readProcessInfo(12, 0, { comm: 'kworker/0:2-events', kernelThread: true }, proc);
    assert.deepEqual([kthread.comm, kthread.service], ['kworker/0:2-events', 'kernel']);
    const nothing = readProcessInfo(13, 0, undefined, proc);
    assert.deepEqual([nothing.comm, nothing.service], ['', 'unknown']);

    // No event (it was lost): the kernel-thread flag comes from /proc/<pid>/stat.
    mkdirSync(join(proc, '14'));
    writeFileSync(join(proc, '14/comm'), 'kdamond.0\n');
    writeFileSync(join(proc, '14/stat'), '14 (kdamond.0) S 2 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 32 0 0\n');
    const unannounced = readProcessInfo(14, 0, undefined, proc);
    assert.deepEqual([unannounced.comm, unannounced.service], ['kdamond.0', 'kernel']);
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});

test('otelResource: OTEL_SERVICE_NAME over service.name, percent-decoding, malformed values kept as written', () => {
  assert.deepEqual(otelResource('PATH=/bin\0OTEL_SERVICE_NAME=checkout\0HOME=/root\0'), { name: 'checkout', version: undefined });
  assert.deepEqual(otelResource('XOTEL_SERVICE_NAME=no\0OTEL_RESOURCE_ATTRIBUTES=service.name=cart,service.version=v%202\0'), {
    name: 'cart',
    version: 'v 2',
  });
  assert.deepEqual(otelResource('OTEL_RESOURCE_ATTRIBUTES=service.name=cart\0OTEL_SERVICE_NAME=cart-api'), {
    name: 'cart-api',
    version: undefined,
  });
  assert.deepEqual(otelResource('OTEL_RESOURCE_ATTRIBUTES=service.version=100%\0'), { name: undefined, version: '100%' });
  assert.deepEqual(otelResource('OTEL_SERVICE_NAME=\0'), { name: undefined, version: undefined });
  assert.deepEqual(otelResource(''), { name: undefined, version: undefined });
});

test('containerIdFromCgroup: docker, containerd (cri) and CRI-O cgroup paths; none on the host', () => {
  const id = 'a'.repeat(40) + '0123456789abcdef01234567';
  assert.equal(containerIdFromCgroup(`0::/system.slice/docker-${id}.scope\n`), id);
  assert.equal(
    containerIdFromCgroup(`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-${id}.scope\n`),
    id,
  );
  assert.equal(containerIdFromCgroup(`12:cpu,cpuacct:/kubepods/burstable/pod1/${id}\n0::/\n`), id);
  assert.equal(containerIdFromCgroup('0::/user.slice/user-0.slice/session-1.scope\n'), '');
});

test('a process gone before /proc was read takes the version last seen for its service', () => {
  const info = (service: string, version: string, unreadable: boolean): ProcessInfo => ({
    pid: 1,
    generation: 0,
    comm: service,
    exe: '',
    service,
    version,
    containerId: '',
    unreadable,
  });
  const versions = new ServiceVersions(2);
  const early = info('app', 'unknown', true);
  versions.fill(early);
  assert.equal(early.version, 'unknown', 'nothing seen yet');
  versions.fill(info('app', 'build-aaaa', false));
  const gone = info('app', 'unknown', true);
  versions.fill(gone);
  assert.equal(gone.version, 'build-aaaa');
  const other = info('other', 'unknown', true);
  versions.fill(other);
  assert.equal(other.version, 'unknown', 'per service');
  const readable = info('app', 'unknown', false);
  versions.fill(readable);
  assert.equal(readable.version, 'unknown', 'a readable process keeps what it said');
  versions.fill(info('b', 'v1', false));
  versions.fill(info('c', 'v1', false));
  const evicted = info('app', 'unknown', true);
  versions.fill(evicted);
  assert.equal(evicted.version, 'unknown', 'bounded: the oldest service is forgotten');
});
