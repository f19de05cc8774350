/**
 * Hook keys without a refused window: authenticate accepts the node's key or, during a rotation, its next key (both
 * checked); the keys app's operations; the ping answer (nothing written, which key, the skew).
 */
import { authenticate } from '../../shared/app/authenticate';
import { changeHookKey, hookConfigFor, newHookKey } from '../../shared/app/keys';
import { answerPing } from '../../shared/app/ping';
import type { ClusterStore, LoadedCluster, NodeWithKey } from '../../shared/ports/cluster-store';
import type { NodeKeyStore } from '../../shared/ports/node-key-store';
import { buildPing, pingOf } from '../../shared/protocol/ping';
import { signedHeaders } from '../../shared/protocol/signature';

const OLD = 'a'.repeat(64);
const NEW = 'b'.repeat(64);
const NOW_S = 1_795_000_000;

function loaded(node: Partial<NodeWithKey>): LoadedCluster {
  return {
    record: { config: { cluster: 'pg-main', tool: 'repmgr', endpoints: {}, replayWindowSeconds: 300, fencing: 'alert', dryRun: false }, state: { cluster: 'pg-main', primary: null, timeline: 0, epoch: 0, appliedEpoch: 0, systemIdentifier: null, updatedAt: '' } },
    nodes: [{ cluster: 'pg-main', name: 'node1', repmgrNodeId: 1, eni: 'eni-1', instanceId: null, privateIp: null, fenced: false, hookKey: OLD, ...node }],
    targets: null,
  };
}

const storeOf = (l: LoadedCluster) => ({ loadCluster: async () => l }) as unknown as ClusterStore;
const request = (key: string, body = '{"v":1}', at = NOW_S) => signedHeaders('pg-main', 'node1', key, body, at);

describe('authenticate with two keys during a rotation', () => {
  it('accepts the current key, and says so', async () => {
    const auth = await authenticate(storeOf(loaded({})), request(OLD), '{"v":1}', NOW_S);

    expect(auth.keyUsed).toBe('current');
  });

  it('while rotating, accepts the current and the next key; anything else is bad_signature', async () => {
    const l = loaded({ hookKeyNext: NEW, hookKeyNextAt: '2026-11-22T02:00:00Z' });

    const current = await authenticate(storeOf(l), request(OLD), '{"v":1}', NOW_S);
    const next = await authenticate(storeOf(l), request(NEW), '{"v":1}', NOW_S);
    const other = authenticate(storeOf(l), request('c'.repeat(64)), '{"v":1}', NOW_S);

    expect([current.keyUsed, next.keyUsed]).toEqual(['current', 'next']);
    await expect(other).rejects.toMatchObject({ code: 'bad_signature' });
  });

  it('without a rotation, the next key is refused', async () => {
    await expect(authenticate(storeOf(loaded({})), request(NEW), '{"v":1}', NOW_S)).rejects.toMatchObject({ code: 'bad_signature' });
  });
});

describe('changeHookKey', () => {
  function fakeStore(state: { key: string; next?: string } | null): NodeKeyStore & { state: typeof state } {
    const s = {
      state,
      setHookKey: async (_c: string, _n: string, k: string) => {
        if (!s.state) return false;
        s.state = { key: k };
        return true;
      },
      startHookKeyRotation: async (_c: string, _n: string, next: string) => {
        if (!s.state) return 'unknown_node' as const;
        if (s.state.next) return 'in_progress' as const;
        s.state.next = next;
        return 'started' as const;
      },
      endHookKeyRotation: async (_c: string, _n: string, how: 'finish' | 'cancel') => {
        if (!s.state) return 'unknown_node' as const;
        if (!s.state.next) return 'not_in_progress' as const;
        s.state = how === 'finish' ? { key: s.state.next } : { key: s.state.key };
        return 'done' as const;
      },
    };
    return s;
  }

  it('rotate, then finish: both keys valid in between, only the new one after', async () => {
    const store = fakeStore({ key: OLD });

    const started = await changeHookKey(store, 'pg-main', 'node1', 'rotate', NEW);
    const during = { ...store.state };
    const again = await changeHookKey(store, 'pg-main', 'node1', 'rotate', 'c'.repeat(64));
    const finished = await changeHookKey(store, 'pg-main', 'node1', 'finish');

    expect(started).toEqual({ ok: true, state: 'rotating' });
    expect(during).toEqual({ key: OLD, next: NEW });
    expect(again).toMatchObject({ ok: false, reason: 'rotation_in_progress' });
    expect(finished).toEqual({ ok: true, state: 'rotated' });
    expect(store.state).toEqual({ key: NEW });
  });

  it('cancel drops the new key; finish or cancel without a rotation says so; unknown node', async () => {
    const store = fakeStore({ key: OLD });
    await changeHookKey(store, 'pg-main', 'node1', 'rotate', NEW);

    expect(await changeHookKey(store, 'pg-main', 'node1', 'cancel')).toEqual({ ok: true, state: 'cancelled' });
    expect(store.state).toEqual({ key: OLD });
    expect(await changeHookKey(store, 'pg-main', 'node1', 'finish')).toMatchObject({ ok: false, reason: 'no_rotation', message: expect.stringMatching(/keys rotate pg-main node1/) });
    expect(await changeHookKey(fakeStore(null), 'pg-main', 'node9', 'issue', NEW)).toMatchObject({ ok: false, reason: 'unknown_node' });
  });

  it('new keys are 64 hex characters, never twice the same; the hook config names the key file, not the key', () => {
    const a = newHookKey();
    const b = newHookKey();
    const config = hookConfigFor({ endpoint: 'https://x/v1/events', cluster: 'pg-main', node: 'node1', keyFile: '/etc/vipswitch/hook.key' });

    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(JSON.stringify(config)).not.toContain(a);
    expect(config).toMatchObject({ keyFile: '/etc/vipswitch/hook.key', cluster: 'pg-main', node: 'node1' });
  });
});

describe('ping', () => {
  const body = JSON.stringify(buildPing({ cluster: 'pg-main', node: 'node1' }, 'ping-0123456789', new Date(NOW_S * 1000 - 1500)));

  it('is told apart from an event body', () => {
    expect(pingOf(body)).toMatchObject({ type: 'ping' });
    expect(pingOf('{"v":1,"type":"ping","source":"repmgr"}')).toBeNull();
    expect(pingOf('{"v":1,')).toBeNull();
  });

  it('answers pong with the key used, the rotation and the skew measured from sentAt; reads nothing more and writes nothing', async () => {
    const l = loaded({ hookKeyNext: NEW });
    const auth = await authenticate(storeOf(l), request(NEW, body), body, NOW_S);

    const answer = answerPing(auth, pingOf(body)!, new Date(NOW_S * 1000));

    expect(answer).toMatchObject({ status: 200, body: { code: 'pong', decision: 'ignored', key: 'next', rotating: true, skewMs: 1500, skewSeconds: 0, windowSeconds: 300, cluster: 'pg-main', node: 'node1', id: 'ping-0123456789' } });
    expect(answer.body.message).toMatch(/1\.500 s behind the server's.*nothing recorded/);
  });

  it('refuses a ping naming another node than its signature, or malformed', async () => {
    const auth = await authenticate(storeOf(loaded({})), request(OLD, body), body, NOW_S);

    expect(() => answerPing(auth, { ...pingOf(body)!, node: 'node2' }, new Date())).toThrow(expect.objectContaining({ code: 'node_mismatch' }));
    expect(() => answerPing(auth, { ...pingOf(body)!, sentAt: 'yesterday' }, new Date())).toThrow(expect.objectContaining({ code: 'invalid_event' }));
  });
});
