import { authenticate, rawBodyOf } from '../../shared/app/authenticate';
import { InvalidRequestError } from '../../shared/domain/errors';
import type { ClusterStore } from '../../shared/ports/cluster-store';

/** A store that must not be read: hostile names are refused before any DynamoDB call. */
function untouchedStore(): { store: ClusterStore; reads: () => number } {
  let reads = 0;
  const store = { loadCluster: async () => ((reads += 1), null) } as unknown as ClusterStore;
  return { store, reads: () => reads };
}

describe('authenticate: input refused before any read', () => {
  it.each([
    ['a cluster of 8 KB', `${'a'.repeat(8000)}/node1`],
    ['a node of 300 bytes', `pg-main/${'n'.repeat(300)}`],
    ['a shell metacharacter', 'pg-main/$(reboot)'],
    ['a latin1 byte', 'pg-main/node1\u00ff'],
    ['a leading dot', '.pg-main/node1'],
    ['three parts', 'pg-main/node1/x'],
    ['no node', 'pg-main/'],
  ])('x-vipswitch-node with %s → 400 invalid_node_header, no DynamoDB read', async (_label, who) => {
    const { store, reads } = untouchedStore();
    const headers = { 'x-vipswitch-node': who, 'x-vipswitch-timestamp': '1795313189', 'x-vipswitch-signature': `v1=${'0'.repeat(64)}` };
    await expect(authenticate(store, headers, '{}', 1795313189)).rejects.toMatchObject({ status: 400, code: 'invalid_node_header' });
    expect(reads()).toBe(0);
  });

  it('a valid name is read (then unknown: 404)', async () => {
    const { store, reads } = untouchedStore();
    const headers = { 'x-vipswitch-node': 'pg-main/node1', 'x-vipswitch-timestamp': '1795313189', 'x-vipswitch-signature': `v1=${'0'.repeat(64)}` };
    await expect(authenticate(store, headers, '{}', 1795313189)).rejects.toMatchObject({ status: 404, code: 'unknown_cluster' });
    expect(reads()).toBe(1);
  });
});

describe('rawBodyOf', () => {
  it.each([
    [0, '0'],
    [false, 'false'],
    [true, 'true'],
    ['{"v":1}', '{"v":1}'],
  ] as const)('a body handed over as %j reads back as the text %j (a local host may pass a JSON scalar parsed)', (body, text) => {
    expect(rawBodyOf(body, false, 65536)).toBe(text);
  });

  it.each([undefined, null, ''])('%j is 400 empty_body', (body) => {
    expect(() => rawBodyOf(body, false, 65536)).toThrow(InvalidRequestError);
  });
});
