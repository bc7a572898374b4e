import { partitionOf } from '../platform/bus/partitioner.js';
import { topicOfStream } from '../platform/bus/topics.js';
import type { ProjectionStatus } from './kernel/status.js';

export interface ProjectorPassed {
  readonly name: string;
  readonly appliedPosition: string | null;
  readonly passed: boolean;
}

/**
 * The GDPR workflow's "wait until every projector has passed the erasure" (issue 10 §2.4), from the
 * projectors' durable checkpoints (`status`, the same numbers as `annals replay status`).
 *
 * A projector has passed when (1) its high-water position is at or past the last erasure event, which
 * also means the relay (the only publisher, in position order) has published it, and then (2) on each
 * partition the erasure streams hash to, it has applied everything up to that partition's end offset as
 * seen once (1) holds. (1) alone is not enough: partitions are consumed in parallel, so a projector can
 * be past the position on one partition and behind on the erasure's.
 * Polls every `pollMs` (default 50) until `timeoutMs`; a projector still behind is reported, not waited
 * for forever.
 */
export function projectorErasureWait(status: () => Promise<ProjectionStatus[]>, options: { pollMs?: number } = {}) {
  const pollMs = options.pollMs ?? 50;
  return async (position: bigint, streams: readonly string[], timeoutMs: number): Promise<ProjectorPassed[]> => {
    const deadline = Date.now() + timeoutMs;
    const targets = new Map<string, Map<string, bigint>>(); // projector → tp → end offset to reach
    for (;;) {
      const statuses = await status();
      const out = statuses.map((s): ProjectorPassed => {
        const applied = s.appliedPosition;
        let passed = applied !== undefined && applied >= position;
        if (passed && s.partitions.length > 0) {
          let want = targets.get(s.name);
          if (!want) {
            want = new Map();
            const counts = new Map<string, number>();
            for (const p of s.partitions) counts.set(p.topic, Math.max(counts.get(p.topic) ?? 0, p.partition + 1));
            for (const stream of streams) {
              const topic = topicOfStream(stream);
              const n = topic ? counts.get(topic) : undefined;
              if (!topic || !n) continue;
              const tp = `${topic}:${partitionOf(stream, n)}`;
              const end = s.partitions.find((p) => `${p.topic}:${p.partition}` === tp)?.endOffset ?? 0n;
              want.set(tp, end);
            }
            targets.set(s.name, want);
          }
          for (const [tp, end] of want) {
            const next = s.partitions.find((p) => `${p.topic}:${p.partition}` === tp)?.nextOffset ?? 0n;
            if (next < end) passed = false;
          }
        }
        return { name: s.name, appliedPosition: applied === undefined ? null : applied.toString(), passed };
      });
      if (out.every((p) => p.passed) || Date.now() >= deadline) return out;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  };
}
