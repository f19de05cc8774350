import { ArgvError } from '../../shared/domain/errors';
import { EVENT_VERSION } from '../../shared/domain/event';
import { buildEvent, type HookMode } from '../../shared/protocol/build-event';
import { loadPatroniInvocations, loadRepmgrInvocations, REPMGR_SYSTEM_ID } from '../support/peers';

const NOW = new Date('2026-11-22T03:00:00.000Z');
const WHO = { cluster: 'pg-main', node: 'db-a' };

describe('buildEvent', () => {
  describe('repmgr captures', () => {
    const captures = loadRepmgrInvocations();

    it.each(captures.map((c) => [c.index, c.node, c.args[1], c] as const))('#%i %s %s', (_i, _node, event, c) => {
      // Act
      const built = buildEvent('repmgr', c.args, WHO, c.facts, NOW, `id-${c.index}`);

      // Assert
      expect(built).toEqual({
        v: EVENT_VERSION,
        id: `id-${c.index}`,
        cluster: 'pg-main',
        node: 'db-a',
        source: 'repmgr',
        type: event,
        success: true,
        role: null,
        occurredAt: expect.stringMatching(/^2026-11-22T02:\d{2}:\d{2}\.\d{3}Z$/),
        details: c.args[4],
        facts: c.facts,
        raw: { argv: c.args },
      });
      // the event time is repmgr's %t, not the hook's clock
      expect(built.occurredAt).not.toBe(NOW.toISOString());
      expect(built.raw.argv).not.toBe(c.args);
    });

    it('takes node and cluster from the caller, never from %a or %n', () => {
      // Arrange: node3's standby_follow names node2 (its upstream) in %a and %p
      const follow = captures.find((c) => c.node === 'node3' && c.args[1] === 'standby_follow')!;
      expect(follow.args[5]).toBe('node2');

      // Act
      const built = buildEvent('repmgr', follow.args, { cluster: 'orders', node: 'node3' }, follow.facts, NOW, 'x');

      // Assert
      expect([built.cluster, built.node]).toEqual(['orders', 'node3']);
      expect(built.details).toBe('standby attached to upstream node "node2" (ID: 2)');
    });

    it('sends facts as given, and null when the probe failed', () => {
      const clone = captures.find((c) => c.args[1] === 'standby_clone')!;
      const promote = captures.find((c) => c.node === 'node2' && c.args[1] === 'standby_promote')!;
      expect(buildEvent('repmgr', clone.args, WHO, clone.facts, NOW).facts).toBeNull();
      expect(buildEvent('repmgr', promote.args, WHO, promote.facts, NOW).facts).toEqual({
        inRecovery: false,
        timeline: 2, // the WAL file's timeline; the checkpoint still said 1
        lsn: '0/504FEA8',
        systemIdentifier: REPMGR_SYSTEM_ID,
      });
    });
  });

  describe('Patroni captures', () => {
    const captures = loadPatroniInvocations();

    it.each(captures.map((c) => [c.index, c.node, c.args.join(' '), c] as const))('#%i %s %s', (_i, node, _text, c) => {
      // Act: the member name comes from the hook's config (here: the capture's member)
      const built = buildEvent('patroni', c.args, { cluster: 'pg-main', node }, c.facts, NOW, `id-${c.index}`);

      // Assert
      expect(built).toEqual({
        v: EVENT_VERSION,
        id: `id-${c.index}`,
        cluster: 'pg-main',
        node,
        source: 'patroni',
        type: c.args[0],
        success: true,
        role: c.args[1],
        occurredAt: NOW.toISOString(),
        details: '',
        facts: c.facts,
        raw: { argv: c.args },
      });
    });

    it('uses the configured cluster, not Patroni scope', () => {
      const built = buildEvent('patroni', captures[0]!.args, WHO, null, NOW);
      expect(captures[0]!.args[2]).toBe('peers-demo');
      expect(built.cluster).toBe('pg-main');
    });
  });

  describe('ids and errors', () => {
    it('gives each call a fresh UUID when no id is passed', () => {
      const args = ['on_start', 'master', 'pg-main'];
      const a = buildEvent('patroni', args, WHO, null, NOW);
      const b = buildEvent('patroni', args, WHO, null, NOW);
      expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(a.id).not.toBe(b.id);
    });

    it.each([
      ['repmgr', ['two', 'standby_promote', '1', '2026-11-22 02:08:22.720578+00'], '%n'],
      ['patroni', ['on_promote', 'master', 'pg-main'], 'action'],
      ['pgpool', ['anything'], 'command'],
      ['keepalived', [], 'kind'],
      ['haproxy', ['anything'], 'mode'],
    ] as const)('%s %j throws ArgvError on %s', (mode, args, field) => {
      let error: unknown;
      try {
        buildEvent(mode as HookMode, args, WHO, null, NOW);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ArgvError);
      expect((error as ArgvError).field).toBe(field);
    });
  });
});
