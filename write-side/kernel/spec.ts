import assert from 'node:assert/strict';
import { DomainError } from './errors.js';
import type { Command, Decider, DomainEvent } from './decider.js';

/**
 * Given/when/then for deciders, as in emmett's DeciderSpecification:
 *
 *   spec(leadDecider).given([captured]).when(qualify).then([qualified]);
 *   spec(leadDecider).given([captured, converted]).when(qualify).thenThrows('LEAD_ERR_ALREADY_CONVERTED');
 */
export function spec<C extends Command, S, E extends DomainEvent>(decider: Decider<C, S, E>) {
  return {
    given(events: readonly E[]) {
      return {
        when(command: C) {
          const run = () => {
            let state = decider.initialState();
            for (const e of events) state = decider.evolve(state, e);
            return decider.decide(command, state);
          };
          return {
            then(expected: readonly E[]): void {
              assert.deepStrictEqual(run(), expected);
            },
            /** The produced events satisfy a predicate (for events carrying derived values). */
            thenMatches(check: (events: readonly E[]) => void): void {
              check(run());
            },
            thenNothing(): void {
              assert.deepStrictEqual(run(), []);
            },
            thenThrows(code: string): DomainError {
              try {
                const produced = run();
                assert.fail(`expected ${code}, got events ${JSON.stringify(produced)}`);
              } catch (e) {
                if (!(e instanceof DomainError)) throw e;
                assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
                return e;
              }
            },
          };
        },
      };
    },
  };
}
