import { randomBytes } from 'node:crypto';
import type { NodeKeyStore } from '../ports/node-key-store';

/**
 * The nodes' hook keys, for `vipswitch keys`. A key never leaves these functions except into the key file the
 * operator asked for: never into a log line, an answer or the printed hook config (which names the key FILE).
 *
 * Rotation without a window where the hook is refused:
 *   1. `keys rotate <cluster> <node>`: a new key is stored as the node's *next* key; from now on either key is accepted.
 *   2. The operator installs the new key file on the node and checks it with `vipswitch-hook ping` (answers `key: next`).
 *   3. `keys rotate --finish <cluster> <node>`: the new key becomes the only key; the old one is refused from now on.
 * `keys rotate --cancel` drops the new key instead. `keys issue` replaces the key at once (first install, leaked key).
 */

/** A fresh hook key: 32 random bytes as 64 hex characters (what `openssl rand -hex 32` gives). */
export function newHookKey(): string {
  return randomBytes(32).toString('hex');
}

/** What became of a key operation. */
export type KeyOutcome =
  | { ok: true; state: 'issued' | 'rotating' | 'rotated' | 'cancelled' }
  | { ok: false; reason: 'unknown_node' | 'rotation_in_progress' | 'no_rotation'; message: string };

/** The key operations the CLI offers. */
export type KeyOperation = 'issue' | 'rotate' | 'finish' | 'cancel';

/**
 * Carry out one key operation for `cluster/node`. `key` is the new key for `issue` and `rotate` (ignored otherwise).
 * Every outcome an operator can cause is a value; infrastructure faults throw (then nothing changed).
 */
export async function changeHookKey(store: NodeKeyStore, cluster: string, node: string, operation: KeyOperation, key?: string): Promise<KeyOutcome> {
  const unknown: KeyOutcome = { ok: false, reason: 'unknown_node', message: `node ${node} is not registered in cluster ${cluster} (vipswitch apply -f cluster.yaml first)` };
  switch (operation) {
    case 'issue':
      return (await store.setHookKey(cluster, node, required(key))) ? { ok: true, state: 'issued' } : unknown;
    case 'rotate': {
      const started = await store.startHookKeyRotation(cluster, node, required(key));
      if (started === 'started') return { ok: true, state: 'rotating' };
      if (started === 'unknown_node') return unknown;
      return { ok: false, reason: 'rotation_in_progress', message: `a key rotation of ${cluster}/${node} is already under way: finish it (keys rotate --finish) or cancel it (keys rotate --cancel) first` };
    }
    case 'finish':
    case 'cancel': {
      const ended = await store.endHookKeyRotation(cluster, node, operation);
      if (ended === 'done') return { ok: true, state: operation === 'finish' ? 'rotated' : 'cancelled' };
      if (ended === 'unknown_node') return unknown;
      return { ok: false, reason: 'no_rotation', message: `no key rotation of ${cluster}/${node} is under way (start one with: vipswitch keys rotate ${cluster} ${node})` };
    }
  }
}

function required(key: string | undefined): string {
  if (key === undefined || !/^[0-9a-f]{64}$/.test(key)) throw new Error('a new hook key must be 64 hex characters (newHookKey())');
  return key;
}

/** The hook config (`/etc/vipswitch/hook.json`) for a node: it names the key FILE, never the key. */
export function hookConfigFor(input: { endpoint: string; cluster: string; node: string; keyFile: string }): Record<string, unknown> {
  return { endpoint: input.endpoint, cluster: input.cluster, node: input.node, keyFile: input.keyFile, spoolDir: '/var/lib/vipswitch/spool', timeoutMs: 2000 };
}
