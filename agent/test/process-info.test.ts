// service/version and container labels from what a process's /proc says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerIdFromCgroup, otelResource } from '../src/process-info.js';

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
