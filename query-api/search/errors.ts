import { CodedError } from '../../platform/errors/coded-error.js';
import { defineErrors } from '../../platform/errors/catalogue.js';

/** The search field's own codes (registered in query-api/error-catalogue.ts). */
export const SearchErrorCode = defineErrors('SEARCH', {
  /** This deployment has no search port (a query API started without one): 501, shown. */
  NotConfigured: 'SEARCH_ERR_NOT_CONFIGURED',
  /** The search store failed or is unreachable: 503, the client may retry. */
  Unavailable: 'SEARCH_ERR_UNAVAILABLE',
});
export type SearchErrorCode = (typeof SearchErrorCode)[keyof typeof SearchErrorCode];

export class SearchError extends CodedError {
  constructor(code: SearchErrorCode, message: string, status: number) {
    // Both are raised on purpose and say nothing about data: shown to the client (a 5xx is hidden otherwise).
    super(code, message, status, undefined, { expose: true });
    this.name = 'SearchError';
  }
}
