/**
 * Stops a node's instance (the `stop-instance` fencing policy). Idempotent: stopping a stopped instance is success.
 * Never throws: the outcome is returned, so a failed fence is journaled and paged like a successful one.
 */
export interface InstanceFencer {
  stop(instanceId: string): Promise<{ ok: true; state: string } | { ok: false; error: { code: string; message: string } }>;
}
