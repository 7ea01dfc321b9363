// Redis spans: command names only (never keys or values), error replies, pipelining, inline
// commands, values longer than the capture.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandName } from '../src/spans/redis.js';
import { Connection, resp, tracker } from './spans-fixtures.js';

test('commands named without their arguments; pipelined replies pair in order; errors', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 6379);
  c.write(resp('SET', 'session:42', 'secret-value') + resp('get', 'session:42') + resp('HGETALL', 'h') + resp('INCR', 'not-a-number'));
  c.read('+OK\r\n$12\r\nsecret-value\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n');
  c.read('-ERR value is not an integer or out of range\r\n');
  assert.deepEqual(
    spans.map((s) => [s.name, s.status, s.durationNs]),
    [
      ['SET', 'unset', 1_000_000],
      ['GET', 'unset', 1_000_000],
      ['HGETALL', 'unset', 1_000_000],
      ['INCR', 'error', 2_000_000],
    ],
  );
  assert.equal(spans[3]?.statusMessage, 'ERR value is not an integer or out of range');
  assert.equal(spans[3]?.attributes['db.response.status_code'], 'ERR');
  assert.equal(spans[0]?.attributes['db.system.name'], 'redis');
  assert.equal(spans[0]?.attributes['db.operation.name'], 'SET');
  assert.ok(!JSON.stringify(spans).includes('secret'), 'no values in spans');
});

test('container commands keep their subcommand; inline commands on the Redis port', () => {
  assert.equal(commandName(['client', 'setname', 'x']), 'CLIENT SETNAME');
  assert.equal(commandName(['get', 'k']), 'GET');
  const { tracker: t, spans } = tracker();
  new Connection(t, 'client', 6379)
    .write('PING\r\n')
    .read('+PONG\r\n')
    .write(resp('CONFIG', 'GET', 'maxmemory'))
    .read('*0\r\n');
  assert.deepEqual(
    spans.map((s) => s.name),
    ['PING', 'CONFIG GET'],
  );
});

test('a value larger than the capture is skipped by its length, so the next reply still pairs', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 6379);
  c.write(resp('GET', 'big'))
    .read('$10000\r\n' + 'v'.repeat(248), { bytes: 4000 })
    .read('v'.repeat(256), { bytes: 6010 });
  assert.equal(spans.length, 1, 'the reply ended with its last byte');
  assert.equal(spans[0]?.durationNs, 2_000_000);
  c.write(resp('DEL', 'big')).read(':1\r\n');
  assert.deepEqual(
    spans.map((s) => s.name),
    ['GET', 'DEL'],
  );
  assert.equal(t.stats.unparsed, 0);
});

test('a command split over small writes; the Redis server side reading it', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'server', 6379);
  const command = resp('LPUSH', 'queue', 'job');
  c.read(command.slice(0, 4), { spanId: 0x77n });
  c.read(command.slice(4, 13));
  c.read(command.slice(13));
  c.write(':3\r\n');
  assert.equal(spans[0]?.name, 'LPUSH');
  assert.equal(spans[0]?.spanId, '0000000000000077');
  assert.equal(spans[0]?.durationNs, 3_000_000);
});

test('garbage replies are counted; RESP3 pushes answer no request', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 6379);
  c.write(resp('SUBSCRIBE', 'ch')).read('>3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n');
  c.write(resp('PING')).read('\x00\x01garbage');
  c.read('+PONG\r\n');
  assert.deepEqual(
    spans.map((s) => s.name),
    ['SUBSCRIBE'],
  );
  assert.equal(t.stats.unparsed, 1);
});
