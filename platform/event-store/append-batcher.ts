/**
 * Group commit for appends: at most `maxInFlight` round trips at a time; appends that arrive while they are
 * all busy wait, and the next free one takes every waiting append (up to `maxEvents` events) in one call. An
 * append that finds a free round trip goes at once, alone, so a lone writer waits for nothing; under load the
 * groups grow by themselves, and the cost of a round trip and a commit is shared by everything in it.
 *
 * `many` answers one settled outcome per item, so one item's refusal is its own; if it throws, every item
 * of the group fails with that error. The caller keeps two appends to the same stream out of one group
 * (the adapters queue each stream's appends: `streamQueue` in port.ts, so one is in flight per stream).
 */
export interface AppendBatcherOptions<T, R> {
  readonly maxInFlight: number;
  readonly maxEvents: number;
  readonly size: (item: T) => number;
  readonly one: (item: T) => Promise<R>;
  readonly many: (items: readonly T[]) => Promise<PromiseSettledResult<R>[]>;
}

export interface AppendBatcher<T, R> {
  submit(item: T): Promise<R>;
}

interface Waiting<T, R> {
  readonly item: T;
  readonly resolve: (r: R) => void;
  readonly reject: (e: unknown) => void;
}

export function appendBatcher<T, R>(options: AppendBatcherOptions<T, R>): AppendBatcher<T, R> {
  const { maxEvents, size } = options;
  const maxInFlight = Math.max(1, Math.floor(options.maxInFlight));
  const waiting: Waiting<T, R>[] = [];
  let inFlight = 0;

  const run = async (group: Waiting<T, R>[]): Promise<void> => {
    if (group.length === 1) {
      const w = group[0]!;
      await options.one(w.item).then(w.resolve, w.reject);
      return;
    }
    let outcomes: PromiseSettledResult<R>[];
    try {
      outcomes = await options.many(group.map((w) => w.item));
      if (outcomes.length !== group.length) throw new Error(`${outcomes.length} outcomes for a group of ${group.length}`);
    } catch (e) {
      for (const w of group) w.reject(e);
      return;
    }
    group.forEach((w, i) => {
      const o = outcomes[i]!;
      if (o.status === 'fulfilled') w.resolve(o.value);
      else w.reject(o.reason);
    });
  };

  const pump = (): void => {
    while (inFlight < maxInFlight && waiting.length > 0) {
      let n = 1;
      let events = size(waiting[0]!.item);
      while (n < waiting.length && events + size(waiting[n]!.item) <= maxEvents) events += size(waiting[n++]!.item);
      inFlight++;
      void run(waiting.splice(0, n)).finally(() => {
        inFlight--;
        pump();
      });
    }
  };

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        pump();
      });
    },
  };
}
