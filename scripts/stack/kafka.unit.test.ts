import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUsableClusterId, newClusterId } from './kafka.js';

describe('KRaft cluster id', () => {
  it('draws again when the id would start with "-", which the storage tool reads as an option', () => {
    // 0xf8 encodes to '-' as the first base64url character.
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x11)];
    const id = newClusterId(() => draws.shift()!);
    assert.equal(id, Buffer.alloc(16, 0x11).toString('base64url'));
    assert.equal(draws.length, 0);
  });

  it('is 22 base64url characters and never starts with "-" over many draws', () => {
    for (let i = 0; i < 2_000; i++) {
      const id = newClusterId();
      assert.ok(isUsableClusterId(id), id);
      assert.notEqual(id[0], '-');
    }
  });

  it('refuses a kept id that starts with "-", is empty or has the wrong length', () => {
    assert.equal(isUsableClusterId('-oIEBG9o2hbpQ0vD-rIyKQ'), false);
    assert.equal(isUsableClusterId(''), false);
    assert.equal(isUsableClusterId('abc'), false);
    assert.equal(isUsableClusterId('oIEBG9o2hbpQ0vD-rIyKQ\0'), false);
    assert.equal(isUsableClusterId('xoIEBG9o2hbpQ0vD-rIyKQ'), true);
  });
});
