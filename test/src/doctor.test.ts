// `kiln doctor` is checked against the kernel's own facts, not against a list of expected answers.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runKiln } from './lib/kiln.js';

interface Row {
  facility: string;
  ok: boolean;
  detail: string;
  instead: string;
}

test('kiln doctor reports what the running kernel really offers', async () => {
  assert.equal(process.getuid?.(), 0, 'this test loads BPF programs and must run as root');
  const kiln = runKiln(['doctor', '--json']);
  const code = await kiln.exited;
  const out = kiln.output();
  const report = JSON.parse(out.slice(out.indexOf('{'))) as { rows: Row[]; cpuProfiling: boolean };
  const row = (facility: string): Row => {
    const r = report.rows.find((x) => x.facility === facility);
    assert.ok(r, `doctor has a row for ${facility}`);
    return r;
  };

  assert.equal(row('BTF').ok, existsSync('/sys/kernel/btf/vmlinux'), 'BTF available ⇔ /sys/kernel/btf/vmlinux exists');

  // The doctor mounts tracefs when it is missing, so it is there to compare against now.
  const tracefs = ['/sys/kernel/tracing/events', '/sys/kernel/debug/tracing/events'].find((p) => existsSync(p));
  assert.ok(tracefs, 'tracefs is mounted after kiln doctor ran');
  for (const tp of ['sched/sched_switch', 'tcp/tcp_retransmit_skb', 'syscalls/sys_enter_write']) {
    const exists = existsSync(`${tracefs}/${tp}`);
    const r = row(`tracepoint ${tp.replace('/', ':')}`);
    if (exists) assert.ok(r.ok, `${tp} exists under tracefs, so it must be reported available: ${r.detail}`);
    else assert.ok(!r.ok, `${tp} is missing under tracefs, so it must be reported unavailable`);
  }

  const uprobePmu = existsSync('/sys/bus/event_source/devices/uprobe');
  assert.equal(row('uprobes').ok, uprobePmu, 'uprobes available ⇔ the uprobe PMU exists');

  const fentry = row('fentry');
  if (!fentry.ok) assert.match(fentry.instead, /tracepoints/, 'an unavailable fentry names the fallback');
  const spans = row('span capture');
  assert.equal(spans.ok, existsSync(`${tracefs}/syscalls/sys_enter_read`), 'span capture works ⇔ the syscall tracepoints exist');
  if (spans.ok)
    assert.match(spans.detail, /syscall tracepoints .*read.*; fentry (refused|allowed)/, 'it names its hooks and the fentry probe');

  // The signal probes need their tracepoints (as tp_btf or raw tracepoints, which need no tracefs).
  const sched = row('scheduler probe');
  assert.equal(sched.ok, existsSync(`${tracefs}/sched/sched_switch`), 'the scheduler probe works ⇔ sched_switch exists');
  if (sched.ok) {
    assert.match(sched.detail, /(tp_btf|raw_tp): (sched_wakeup, sched_wakeup_new, )?sched_switch/, 'it names its hooks');
    assert.match(
      sched.detail,
      /throttled waits from (task_struct\.throttled|cfs_rq\.throttle_count|none)/,
      'it says how it tells throttling',
    );
  }
  const retransmits = row('retransmit probe');
  assert.equal(retransmits.ok, existsSync(`${tracefs}/tcp/tcp_retransmit_skb`), 'the retransmit probe works ⇔ tcp_retransmit_skb exists');
  if (retransmits.ok) assert.match(retransmits.detail, /(tp_btf|raw_tp): tcp_retransmit_skb/, 'it names its hooks');

  const cgroupFs = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[1] === '/sys/fs/cgroup')
    ?.split(' ')[2];
  assert.match(row('cgroup version').detail, cgroupFs === 'cgroup2' ? /^v2/ : /^v1/);

  for (const r of report.rows) {
    if (!r.ok) assert.notEqual(r.instead, '—', `${r.facility} is unavailable, so the doctor says what Kiln does instead`);
  }
  assert.equal(report.cpuProfiling, row('BTF').ok && row('perf events (cpu-clock)').ok);
  assert.equal(code, report.cpuProfiling ? 0 : 1, 'exit status is non-zero exactly when CPU profiling cannot work');
});

test('kiln doctor prints a readable table', async () => {
  const kiln = runKiln(['doctor']);
  await kiln.exited;
  const out = kiln.output();
  assert.match(out, /facility\s+status\s+detail\s+kiln will/);
  assert.match(out, /^fentry\s+(ok|NO)\s/m);
  assert.match(out, /CPU profiling: (available|NOT possible)/);
});
