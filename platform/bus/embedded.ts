import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConsumedMessage } from './message.js';
import { partitionOf } from './partitioner.js';
import { tpKey, type Bus, type ConsumeOptions, type TopicPartition } from './port.js';

export interface EmbeddedBusOptions {
  /** Partitions of a new topic (default 4): more than one, so per-key ordering is actually exercised. */
  readonly partitions?: number;
  /** Most messages handed to `onBatch` at once (default 500). */
  readonly maxBatch?: number;
  /**
   * Directory for the log (one JSONL file per partition). Without it the log lives in memory only.
   * With it, a restarted process sees the same offsets, which is what projector checkpoints (stored as
   * offsets) rely on: an in-memory log would restart at offset 0 and make stored offsets meaningless.
   * Appends are written before `publish` resolves; they survive a process crash (OS page cache), not a
   * power loss, which is the embedded mode's contract (a development machine).
   */
  readonly dir?: string;
}

interface Stored {
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Readonly<Record<string, string>>;
}

interface Member {
  readonly id: number;
  readonly topics: readonly string[];
}

interface Group {
  committed: Map<string, bigint>;
  members: Member[];
  /** Bumped on every join/leave, so members notice a rebalance. */
  generation: number;
}

/**
 * The in-process bus for `npm start` without servers, with Kafka's delivery semantics: per-key order via
 * partitions chosen by key hash, consumer groups with offsets, partitions spread over the members of a
 * group, at-least-once redelivery (a group offset moves only after `onBatch` resolved).
 */
export function embeddedBus(options: EmbeddedBusOptions = {}): Bus {
  const defaultPartitions = options.partitions ?? 4;
  const maxBatch = options.maxBatch ?? 500;
  const dir = options.dir;
  const logs = new Map<string, Stored[][]>();
  const groups = new Map<string, Group>();
  let waiters: Array<() => void> = [];
  let nextMemberId = 1;
  let closed = false;

  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const changed = (signal: AbortSignal, timeoutMs: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      waiters.push(done);
    });

  const fileOf = (topic: string, p: number) => join(dir!, `${encodeURIComponent(topic)}.${p}.jsonl`);
  if (dir) {
    mkdirSync(dir, { recursive: true });
    const meta = join(dir, 'topics.json');
    const topics = existsSync(meta) ? (JSON.parse(readFileSync(meta, 'utf8')) as Record<string, number>) : {};
    for (const [topic, n] of Object.entries(topics)) {
      const parts: Stored[][] = [];
      for (let p = 0; p < n; p++) {
        const f = fileOf(topic, p);
        const lines = existsSync(f) ? readFileSync(f, 'utf8').split('\n') : [];
        const msgs: Stored[] = [];
        for (const line of lines) {
          if (!line) continue;
          try {
            msgs.push(JSON.parse(line) as Stored);
          } catch {
            // A torn last line from a crash mid-write: that publish never resolved, so dropping it is correct.
            break;
          }
        }
        parts.push(msgs);
      }
      logs.set(topic, parts);
    }
  }
  const saveMeta = () => {
    if (!dir) return;
    const meta: Record<string, number> = {};
    for (const [t, parts] of logs) meta[t] = parts.length;
    writeFileSync(join(dir, 'topics.json'), JSON.stringify(meta));
  };

  const ensure = (topic: string): Stored[][] => {
    let parts = logs.get(topic);
    if (!parts) {
      parts = Array.from({ length: defaultPartitions }, () => []);
      logs.set(topic, parts);
      saveMeta();
    }
    return parts;
  };

  const groupOf = (groupId: string): Group => {
    let g = groups.get(groupId);
    if (!g) {
      g = { committed: new Map(), members: [], generation: 0 };
      groups.set(groupId, g);
    }
    return g;
  };

  /** Round-robin over the members, in join order: every partition of a subscribed topic has one owner. */
  const assignmentOf = (g: Group, member: Member): TopicPartition[] => {
    const all: TopicPartition[] = [];
    const topics = [...new Set(g.members.flatMap((m) => m.topics))].sort();
    for (const t of topics) ensure(t).forEach((_, partition) => all.push({ topic: t, partition }));
    const idx = g.members.indexOf(member);
    return all.filter((tp, i) => i % g.members.length === idx && member.topics.includes(tp.topic));
  };

  return {
    kind: 'embedded',

    async ensureTopics(topics) {
      for (const t of topics) ensure(t);
    },

    async publish(messages) {
      if (closed) throw new Error('embedded bus is closed');
      // Synchronous from here on: no other publish can interleave, so file order = memory order = offsets.
      const byFile = new Map<string, string[]>();
      const placed: Array<[Stored[], Stored]> = [];
      for (const m of messages) {
        const parts = ensure(m.topic);
        const p = m.key === null ? 0 : partitionOf(m.key, parts.length);
        const stored: Stored = { key: m.key, value: m.value, headers: { ...m.headers } };
        placed.push([parts[p]!, stored]);
        if (dir) {
          const f = fileOf(m.topic, p);
          let lines = byFile.get(f);
          if (!lines) byFile.set(f, (lines = []));
          lines.push(JSON.stringify(stored));
        }
      }
      for (const [f, lines] of byFile) appendFileSync(f, lines.join('\n') + '\n');
      for (const [log, stored] of placed) log.push(stored);
      wake();
    },

    async consume({ groupId, topics, resumeFrom, onBatch, signal }: ConsumeOptions) {
      for (const t of topics) ensure(t);
      const g = groupOf(groupId);
      const member: Member = { id: nextMemberId++, topics: [...topics] };
      g.members.push(member);
      g.generation++;
      wake();
      try {
        let seenGeneration = -1;
        let assigned: TopicPartition[] = [];
        const position = new Map<string, bigint>();
        while (!signal.aborted && !closed) {
          if (seenGeneration !== g.generation) {
            // A rebalance: take the new assignment and ask the caller where each partition resumes.
            seenGeneration = g.generation;
            assigned = assignmentOf(g, member);
            position.clear();
            const resume = await resumeFrom(assigned);
            for (const tp of assigned) {
              const k = tpKey(tp.topic, tp.partition);
              position.set(k, resume.get(k) ?? g.committed.get(k) ?? 0n);
            }
          }
          let delivered = false;
          for (const tp of assigned) {
            if (signal.aborted || seenGeneration !== g.generation) break;
            const k = tpKey(tp.topic, tp.partition);
            const log = ensure(tp.topic)[tp.partition]!;
            const from = position.get(k)!;
            if (from >= BigInt(log.length)) continue;
            const slice = log.slice(Number(from), Number(from) + maxBatch);
            const messages: ConsumedMessage[] = slice.map((s, i) => ({ ...s, topic: tp.topic, partition: tp.partition, offset: from + BigInt(i) }));
            await onBatch({ topic: tp.topic, partition: tp.partition, messages, highWatermark: BigInt(log.length) });
            const next = from + BigInt(slice.length);
            position.set(k, next);
            g.committed.set(k, next);
            delivered = true;
          }
          if (!delivered && !signal.aborted) await changed(signal, 1000);
        }
      } finally {
        g.members = g.members.filter((m) => m !== member);
        g.generation++;
        wake();
      }
    },

    async endOffsets(topic) {
      const parts = ensure(topic);
      return new Map(parts.map((log, p) => [p, BigInt(log.length)]));
    },

    async ping() {
      if (closed) throw new Error('embedded bus is closed');
    },

    async close() {
      closed = true;
      wake();
    },
  };
}
