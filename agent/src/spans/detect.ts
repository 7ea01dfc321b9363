// Which protocol a connection speaks, from its first bytes (the tracker joins a connection's first
// few syscalls, so a first message split over small writes is still recognised). Ports are hints
// only: they settle the shapes that several protocols share (a Redis inline command is a line of
// text), never override bytes that clearly say otherwise.
import { ascii } from './bytes.js';
import { HttpParser } from './http.js';
import { isMysqlCommand, isMysqlGreeting, MysqlParser } from './mysql.js';
import { isPostgresMessage, isStartupPacket, PostgresParser } from './postgres.js';
import type { ProtocolParser } from './protocol.js';
import { looksLikeRedisCommand, RedisParser } from './redis.js';

const POSTGRES_PORT = 5432;
const REDIS_PORT = 6379;

/** A parser for the connection, or undefined when these bytes do not tell. */
export function detectProtocol(payload: Uint8Array, bytes: number, fromClient: boolean, serverPort: number): ProtocolParser | undefined {
  const head = ascii(payload, 0, Math.min(payload.length, 16));
  if (fromClient) {
    // An inline command, or a command array split before its first bulk string.
    if (serverPort === REDIS_PORT && /^([A-Za-z]+(\s|$)|\*)/.test(head)) return new RedisParser();
    if (/^(GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH) /.test(head)) return new HttpParser();
    if (isStartupPacket(payload)) return new PostgresParser();
    if (looksLikeRedisCommand(payload)) return new RedisParser();
    if (isMysqlCommand(payload, bytes)) return new MysqlParser();
    if (serverPort === POSTGRES_PORT && isPostgresMessage(payload, 'frontend')) return new PostgresParser();
    return undefined;
  }
  if (head.startsWith('HTTP/1.')) return new HttpParser();
  if (isMysqlGreeting(payload)) return new MysqlParser();
  if (serverPort === POSTGRES_PORT && isPostgresMessage(payload, 'backend')) return new PostgresParser();
  if (serverPort === REDIS_PORT && /^[+\-:$*%_,#(!=~>|]/.test(head)) return new RedisParser();
  return undefined;
}
