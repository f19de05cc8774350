/** A page to on-call: split brain, unverified claims, actuation faults, drift. */
export interface Page {
  severity: 'critical' | 'warning';
  cluster: string;
  type: string;
  subject: string;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * Sends pages. Best effort by contract: `page` never throws (a failed page is logged by the adapter), because a
 * page must never turn a handled event into a failed one.
 */
export interface Alerter {
  page(page: Page): Promise<void>;
}
