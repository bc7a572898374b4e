import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthError, AuthErrorCode } from '../auth/errors.js';
import { HttpError } from '../http/errors.js';
import { PiiError, PiiErrorCode } from '../pii/errors.js';
import { defineErrors, registerCatalogues } from './catalogue.js';
import { CodedError, exposedError, graphqlErrorOf, INTERNAL_ERROR_CODE } from './coded-error.js';

describe('platform/errors: one coded base, one mapping for problem+json and GraphQL', () => {
  it('a coded client error reads the same on both APIs: code, status and details', () => {
    const err = new AuthError(AuthErrorCode.Forbidden, 'no role grants lead:write', { permission: 'lead:write' });
    assert.ok(err instanceof CodedError);
    assert.deepEqual(exposedError(err), { status: 403, code: 'AUTH_ERR_FORBIDDEN', message: 'no role grants lead:write', details: { permission: 'lead:write' }, expected: true });
    assert.deepEqual(graphqlErrorOf(err, 'corr-1'), {
      message: 'no role grants lead:write',
      extensions: { permission: 'lead:write', code: 'AUTH_ERR_FORBIDDEN', status: 403, correlationId: 'corr-1' },
    });
  });

  it('details can never overwrite the code, the status or the correlation id of a GraphQL error', () => {
    const err = new CodedError('LEAD_ERR_NOT_FOUND', 'no such lead', 404, { code: 'SPOOFED', status: 200, correlationId: 'x' });
    assert.deepEqual(graphqlErrorOf(err, 'corr-2').extensions, { code: 'LEAD_ERR_NOT_FOUND', status: 404, correlationId: 'corr-2' });
  });

  it('an internal error reveals nothing: unknown errors, 5xx coded errors, PII errors other than an erased subject', () => {
    for (const err of [new Error('db password is hunter2'), new CodedError('X_ERR_Y', 'secret', 500, { k: 'v' }), new PiiError(PiiErrorCode.KeyMissing, 'key of s-1 missing', {}, { subjectId: 's-1' }), 'a string']) {
      const e = exposedError(err);
      assert.deepEqual([e.status, e.code, e.details, e.expected], [500, INTERNAL_ERROR_CODE, {}, false]);
      assert.doesNotMatch(JSON.stringify(graphqlErrorOf(err, 'c')), /hunter2|secret|s-1/);
    }
    assert.equal(exposedError(new PiiError(PiiErrorCode.SubjectErased, 'erased')).status, 410);
  });

  it('a deliberate 5xx of the HTTP layer (503 retry, 501 not configured) is shown with its code', () => {
    const e = exposedError(new HttpError(503, 'GDPR_ERR_PROJECTORS_BEHIND', 'retry', { behind: ['leads'] }));
    assert.deepEqual([e.status, e.code, e.details], [503, 'GDPR_ERR_PROJECTORS_BEHIND', { behind: ['leads'] }]);
  });

  it('defineErrors refuses another style: non-PascalCase keys, codes outside the area, a code twice', () => {
    assert.deepEqual(defineErrors('LEAD', { NotFound: 'LEAD_ERR_NOT_FOUND' }), { NotFound: 'LEAD_ERR_NOT_FOUND' });
    assert.ok(Object.isFrozen(defineErrors('LEAD', { NotFound: 'LEAD_ERR_NOT_FOUND' })));
    assert.throws(() => defineErrors('DEAL', { NOT_FOUND: 'DEAL_ERR_NOT_FOUND' }), /PascalCase/);
    assert.throws(() => defineErrors('DEAL', { NotFound: 'DEAL_ERR_not_found' as 'DEAL_ERR_X' }), /DEAL_ERR_<RULE>/);
    assert.throws(() => defineErrors('DEAL', { NotFound: 'DEAL_ERR_' as 'DEAL_ERR_X' }), /DEAL_ERR_<RULE>/);
    assert.throws(() => defineErrors('DEAL', { NotFound: 'DEAL_ERR_NOT\u0000FOUND' as 'DEAL_ERR_X' }), /DEAL_ERR_<RULE>/);
    assert.throws(() => defineErrors('DEAL', { A: 'DEAL_ERR_X', B: 'DEAL_ERR_X' }), /declared twice/);
  });

  it('registerCatalogues refuses a code declared by two areas or outside its area', () => {
    assert.equal(registerCatalogues({ LEAD: { A: 'LEAD_ERR_A' }, DEAL: { A: 'DEAL_ERR_A' } }).size, 2);
    assert.throws(() => registerCatalogues({ LEAD: { A: 'LEAD_ERR_A' }, DEAL: { A: 'LEAD_ERR_A' } }), /declared by LEAD and by DEAL|not DEAL_ERR/);
    assert.throws(() => registerCatalogues({ LEAD: { A: 'LEAD_ERR_A' }, LEAD_X: { A: 'LEAD_X_ERR_A', B: 'LEAD_ERR_A' } }), /LEAD_X_ERR_<RULE>/);
  });
});
