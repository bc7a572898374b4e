import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowedEdits, closestTerms, editDistance, transpositions } from './text.js';

// The embedded adapter's choice of dictionary words for a mistyped query word (postgres.ts, step 2).
describe('search text: edit distance and the closest dictionary words', () => {
  it('counts an adjacent transposition as one edit, as Elasticsearch does; any text, by code points', () => {
    assert.equal(editDistance('jonh', 'john'), 1);
    assert.equal(editDistance('smiht', 'smith'), 1);
    assert.equal(editDistance('smiht', 'smithers'), 4);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('😀a', 'a😀'), 1);
    assert.deepEqual([allowedEdits('ab'), allowedEdits('abc'), allowedEdits('abcde'), allowedEdits('abcdef')], [0, 1, 1, 2]);
  });

  it('lists every adjacent swap once (no swap of equal letters)', () => {
    assert.deepEqual(transpositions('jmaes').sort(), ['james', 'jmase', 'jmeas', 'mjaes']);
    assert.deepEqual(transpositions('aab'), ['aba']);
    assert.deepEqual(transpositions(''), []);
  });

  it('keeps the closest whole words, else the closest beginnings, else the most similar few', () => {
    assert.deepEqual(closestTerms('smiht', ['smithers', 'smith', 'smile']), ['smith']);
    assert.deepEqual(closestTerms('jonh', ['john', 'jon', 'joan', 'johnny']), ['john', 'jon']);
    assert.deepEqual(closestTerms('john', ['john', 'jon']), ['john'], 'an exact word beats a one-edit one');
    assert.deepEqual(closestTerms('smti', ['smithers', 'smith', 'sam']).sort(), ['smith', 'smithers'], 'a partial word with a typo');
    assert.deepEqual(closestTerms('zzqx', ['zebra', 'zulu']), ['zebra', 'zulu'], 'nothing within the edit budget: the trigram order');
    assert.deepEqual(closestTerms('anything', []), []);
    assert.equal(closestTerms('x', Array.from({ length: 50 }, (_, i) => `w${i}`)).length, 10);
  });
});
