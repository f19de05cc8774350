/**
 * Where the nodes' hook keys are kept, for `vipswitch keys` (shared/app/keys.ts). Each method is one conditional
 * write on the node's item: atomic, and outcomes a caller must handle are return values. Throws only for
 * infrastructure faults (then nothing changed).
 */
export interface NodeKeyStore {
  /** Replace the node's key at once and end any rotation. @returns false when the node is not registered. */
  setHookKey(cluster: string, node: string, hookKey: string): Promise<boolean>;
  /** Make `next` valid beside the current key. Not idempotent on purpose: a second start while rotating is `in_progress`. */
  startHookKeyRotation(cluster: string, node: string, next: string): Promise<'started' | 'in_progress' | 'unknown_node'>;
  /** `finish`: the next key becomes the only key; `cancel`: the next key is dropped. */
  endHookKeyRotation(cluster: string, node: string, how: 'finish' | 'cancel'): Promise<'done' | 'not_in_progress' | 'unknown_node'>;
}
