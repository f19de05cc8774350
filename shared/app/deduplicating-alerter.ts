import type { Alerter, Page } from '../ports/alerter';
import type { ClusterStore } from '../ports/cluster-store';

/**
 * Suppresses repeats of the same page (cluster, type, node) inside a window and counts them; the next page sent
 * for that key says how many were suppressed. A split brain that flaps must page once, not once per hook call.
 */
export class DeduplicatingAlerter implements Alerter {
  readonly #inner: Alerter;
  readonly #store: Pick<ClusterStore, 'notePage'>;
  readonly #windowSeconds: number;
  readonly #onSuppressed: (page: Page) => void;

  constructor(options: { inner: Alerter; store: Pick<ClusterStore, 'notePage'>; windowSeconds: number; onSuppressed?: (page: Page) => void }) {
    this.#inner = options.inner;
    this.#store = options.store;
    this.#windowSeconds = options.windowSeconds;
    this.#onSuppressed = options.onSuppressed ?? (() => undefined);
  }

  async page(page: Page): Promise<void> {
    // Per node, and per epoch where a page has one: a NEW failover's failed move must page even inside the window.
    const key = `${page.cluster}|${page.type}|${String(page.details?.node ?? '')}|${String(page.details?.epoch ?? '')}`;
    let verdict: { send: boolean; suppressedBefore: number } = { send: true, suppressedBefore: 0 };
    try {
      verdict = await this.#store.notePage(key, this.#windowSeconds);
    } catch {
      // The ledger is an optimisation: when it fails, page anyway rather than stay silent.
    }
    if (!verdict.send) {
      this.#onSuppressed(page);
      return;
    }
    const note = verdict.suppressedBefore > 0 ? ` (${verdict.suppressedBefore} repeat(s) suppressed in the previous window)` : '';
    await this.#inner.page({ ...page, message: page.message + note, details: { ...page.details, suppressedRepeats: verdict.suppressedBefore } });
  }
}
