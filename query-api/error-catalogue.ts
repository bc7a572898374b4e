import { AnalyticsErrorCode } from '../platform/analytics/port.js';
import { AuditErrorCode } from '../platform/audit/errors.js';
import { AuthErrorCode } from '../platform/auth/errors.js';
import { registerCatalogues } from '../platform/errors/catalogue.js';
import { HttpErrorCode } from '../platform/http/errors.js';
import { PiiErrorCode } from '../platform/pii/errors.js';
import { QueryErrorCode } from './errors.js';
import { ConsistencyErrorCode } from './consistency/gate.js';
import { SearchErrorCode } from './search/errors.js';

/**
 * Every code the query API answers with (`extensions.code`), registered in one place like the command
 * API's write-side/error-catalogue.ts: the shared platform catalogues (so AUTH_ERR_TOKEN_EXPIRED means the
 * same on both APIs) and the query API's own. Registration refuses a code declared twice or outside its
 * area. An area that adds codes (audit, search, analytics) adds its catalogue here.
 */
export const queryApiErrorCodes = registerCatalogues({
  AUTH: AuthErrorCode,
  HTTP: HttpErrorCode,
  PII: PiiErrorCode,
  QUERY: QueryErrorCode,
  ANALYTICS: AnalyticsErrorCode,
  AUDIT: AuditErrorCode,
  CONSISTENCY: ConsistencyErrorCode,
  SEARCH: SearchErrorCode,
});
