import { randomUUID } from 'node:crypto';
import { jsonOrText, matchLeaves, type PersonalDataScanner, type ScanFinding, type ScanResult, type ScanTarget } from '../pii/scanner.js';
import { partitionOf } from './partitioner.js';
import { tpKey, type Bus } from './port.js';
import { topicOfStream } from './topics.js';

/**
 * The bus's `PersonalDataScanner` (the Kafka topics, or the embedded bus log): consumes the partitions
 * the subject's streams hash to, from the beginning up to the end offsets seen when the scan starts, with
 * a throw-away consumer group, and matches every string of each message keyed by one of those streams
 * (value JSON and every header, the metadata JSON included). Only those partitions are read (a stream's
 * messages never land elsewhere) and only those keys searched: the other streams sharing a partition are
 * other subjects' (on a shared Kafka, other deployments'), whose common values are not a leak.
 * Bounded by `timeoutMs` (default 30 s): a scan that cannot finish reports itself incomplete instead of
 * hanging.
 */
export function busPiiScanner(bus: Bus, options: { timeoutMs?: number; streamsOf?: (subjectId: string) => readonly string[] } = {}): PersonalDataScanner {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const streamsOf = options.streamsOf ?? ((id: string) => [`contact-${id}`, `lead-${id}`, `consent-${id}`]);
  return {
    store: 'bus',
    async scan(target: ScanTarget): Promise<ScanResult> {
      const keys = new Set(target.subjectIds.flatMap((id) => streamsOf(id)));
      const wanted = new Map<string, bigint>(); // tp → end offset to reach
      const topics = new Set<string>();
      for (const key of keys) {
        const topic = topicOfStream(key);
        if (!topic) continue;
        await bus.ensureTopics([topic]);
        const ends = await bus.endOffsets(topic);
        if (ends.size === 0) continue;
        const p = partitionOf(key, ends.size);
        const end = ends.get(p) ?? 0n;
        topics.add(topic);
        if (end > 0n) wanted.set(tpKey(topic, p), end);
      }
      const findings: ScanFinding[] = [];
      let examined = 0;
      if (wanted.size === 0) return { store: 'bus', found: 0, findings, examined };
      const pending = new Set(wanted.keys());
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      try {
        await bus.consume({
          groupId: `annals.gdpr-scan.${randomUUID()}`,
          topics: [...topics],
          signal: controller.signal,
          resumeFrom: async (assigned) => {
            const from = new Map<string, bigint>();
            for (const tp of assigned) {
              const k = tpKey(tp.topic, tp.partition);
              if (wanted.has(k)) from.set(k, 0n);
              else from.set(k, (await bus.endOffsets(tp.topic)).get(tp.partition) ?? 0n);
            }
            return from;
          },
          onBatch: async (batch) => {
            const k = tpKey(batch.topic, batch.partition);
            const end = wanted.get(k);
            if (end === undefined) return;
            for (const m of batch.messages) {
              if (m.offset >= end) break;
              if (m.offset + 1n >= end) pending.delete(k);
              // A partition carries many streams (and, on shared topics, other tenants' and other
              // deployments' messages): only the subject's own streams are searched, as in the event store.
              if (m.key === null || !keys.has(m.key)) continue;
              examined++;
              const at = `${batch.topic}/${batch.partition}@${m.offset}`;
              if (m.value !== null) matchLeaves(target.matcher, jsonOrText(m.value), (h) => findings.push({ location: `${at} value`, valueHash: h }));
              for (const [name, value] of Object.entries(m.headers)) {
                matchLeaves(target.matcher, name === 'metadata' ? jsonOrText(value) : value, (h) => findings.push({ location: `${at} header ${name}`, valueHash: h }));
              }
            }
            if (pending.size === 0) controller.abort();
          },
        });
      } finally {
        clearTimeout(timer);
      }
      const incomplete = pending.size > 0 ? `not every partition was read to its end within ${timeoutMs} ms: ${[...pending].join(', ')}` : undefined;
      return { store: 'bus', found: findings.length, findings, examined, ...(incomplete ? { incomplete } : {}) };
    },
  };
}
