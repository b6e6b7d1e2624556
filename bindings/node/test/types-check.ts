// Compiled (not run) by test/types.test.mjs: the declared types fit the way
// the API is used, and the generated native.d.ts is valid TypeScript.
import {
  Client,
  Durability,
  ErrorKind,
  PlasmiteError,
  RemoteClient,
  RemoteError,
  type Message,
  type PoolInfo,
  type ReaderInfo,
  type Receipt,
  type TailOptions,
} from '..';
import type { NativePool, NativeTail, ReaderInfo as NativeReaderInfo } from '../native';

interface Event {
  level: 'info' | 'error';
  msg: string;
}

export async function usage(dir: string): Promise<number> {
  const client = new Client(dir);
  const pool = client.createPool('events', 1n << 20n);
  const r: Receipt = pool.append({ level: 'info', msg: 'hi' }, ['boot'], Durability.Flush);
  const envelope: Buffer = pool.appendJson('{"level":"error","msg":"x"}');
  const m: Message<Event> = pool.get<Event>(r.seq);
  const level: 'info' | 'error' = m.data.level;
  const info: PoolInfo = client.poolInfo('events');
  let n = info.metrics.message_count + envelope.length + level.length;
  for await (const e of pool.tail<Event>({ sinceSeq: 1, tags: ['boot'], where: '.data.level == "info"', timeoutMs: 100 })) {
    n += e.data.msg.length;
  }
  for await (const text of pool.tailJson({ maxMessages: 1n })) n += text.length;
  for await (const e of pool.replay({ speed: 10, maxMessages: 2 })) n += e.seq;
  const s = pool.openStream({ last: 1 });
  const b: Buffer | null = s.nextJson();
  if (b) n += b.length;
  // Durable named readers.
  const durable: TailOptions = { name: 'billing', autoAck: false, sinceSeq: 1n };
  const named = pool.tail<Event>(durable);
  for await (const e of named) {
    n += e.seq;
    named.ack();
    named.ackThrough(1);
    break;
  }
  n += named.dropped;
  const ns = pool.openStream({ name: 'script', maxMessages: 1 });
  ns.next<Event>();
  ns.ack();
  n += ns.dropped;
  const readers: ReaderInfo[] = pool.readers();
  for (const r of readers) n += r.name.length + r.nextSeq + (r.ackedNs - r.createdNs) / 1e9;
  const fromNative: NativeReaderInfo[] = readers;
  const toPublic: ReaderInfo[] = fromNative;
  n += toPublic.length + info.readers.reduce((sum, r) => sum + r.lag + r.next_seq, 0);
  try {
    pool.deleteReader('billing');
  } catch (e) {
    if (e instanceof PlasmiteError && e.kind === ErrorKind.NotFound) n += 1;
  }
  try {
    client.openPool('missing');
  } catch (e) {
    if (e instanceof PlasmiteError && e.kind === ErrorKind.NotFound) n += e.path?.length ?? 0;
  }
  const remote = new RemoteClient('http://127.0.0.1:9700', { token: 't' });
  const rp = await remote.createPool('events');
  const sent: Message<Event> = await rp.append<Event>({ level: 'info', msg: 'x' }, [], 'fast');
  const tail = rp.tail({ maxMessages: 1 });
  const next = await tail.next<Event>();
  if (next) n += next.data.msg.length + sent.seq;
  tail.cancel();
  await remote.deletePool('events').catch((e: unknown) => {
    if (e instanceof RemoteError) n += e.status;
  });
  return n;
}

export type Natives = [NativePool, NativeTail];
