import { ArgvError } from '../../shared/domain/errors';
import { parseRepmgrArgv, parseRepmgrTimestamp } from '../../shared/domain/repmgr-argv';
import { thrownBy } from '../support/errors';
import { loadRepmgrInvocations, type PeerInvocation } from '../support/peers';

const captures = loadRepmgrInvocations();

function capture(event: string, node?: string): PeerInvocation {
  const found = captures.find((c) => c.args[1] === event && (node === undefined || c.node === node));
  if (!found) throw new Error(`no captured ${event}${node ? ` on ${node}` : ''}`);
  return found;
}

describe('parseRepmgrArgv', () => {
  describe('every captured repmgr invocation', () => {
    it('holds 41 invocations, each with the %r %m %z % tail repmgr passed through literally', () => {
      expect(captures).toHaveLength(41);
      for (const c of captures) expect(c.args.slice(8)).toEqual(['%r', '%m', '%z', '%']);
    });

    it.each(captures.map((c) => [c.index, c.node, c.args[1], c] as const))('#%i %s %s parses', (_i, node, event, c) => {
      // Act
      const call = parseRepmgrArgv(c.args);

      // Assert: %n is the capturing node's repmgr id, %e/%s/%d verbatim
      expect(call.nodeId).toBe(Number(node.replace('node', '')));
      expect(call.event).toBe(event);
      expect(call.success).toBe(true);
      expect(call.details).toBe(c.args[4]);
      // %t is the event's time: at or before the hook started, by well under a second
      const lagMs = Date.parse(c.invokedAt) - Date.parse(call.occurredAt);
      expect(lagMs).toBeGreaterThanOrEqual(0);
      expect(lagMs).toBeLessThan(1000);
      expect(call.occurredAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    });

    it('uses both %t formats across the capture', () => {
      const stamps = captures.map((c) => c.args[3] ?? '');
      expect(stamps.filter((t) => /\.\d+\+00$/.test(t)).length).toBeGreaterThan(0);
      expect(stamps.filter((t) => /:\d{2}\+0000$/.test(t)).length).toBeGreaterThan(0);
    });
  });

  describe('%t, both formats', () => {
    it.each([
      ['PostgreSQL now()', '2026-11-22 02:08:22.720578+00', '2026-11-22T02:08:22.720Z'],
      ['strftime fallback', '2026-11-22 02:08:21+0000', '2026-11-22T02:08:21.000Z'],
      ['now() in a +05:30 session', '2026-11-22 07:38:22.720578+05:30', '2026-11-22T02:08:22.720Z'],
      ['strftime in a -0330 zone', '2026-11-21 22:38:21-0330', '2026-11-22T02:08:21.000Z'],
      ['one fractional digit', '2026-11-22 02:08:22.7+00', '2026-11-22T02:08:22.700Z'],
    ])('%s: %s → %s', (_label, text, iso) => {
      // Act / Assert
      expect(parseRepmgrTimestamp(text)).toBe(iso);
      expect(parseRepmgrArgv(['2', 'standby_promote', '1', text]).occurredAt).toBe(iso);
    });

    it.each(['', 'yesterday', '2026-11-22', '2026-11-22 02:08:21', '1795313189', '2026-13-01 00:00:00+00', '2026-02-30 02:08:21+0000', '2026-11-22 02:61:00+00'])(
      'rejects %j rather than guessing',
      (text) => {
        expect(parseRepmgrTimestamp(text)).toBeNull();
      },
    );
  });

  describe('%a %c %p', () => {
    it('empty placeholders become null (cluster_created)', () => {
      // Arrange
      const c = capture('cluster_created');
      expect(c.args.slice(4, 8)).toEqual(['', '', '', '']);

      // Act
      const call = parseRepmgrArgv(c.args);

      // Assert
      expect(call).toMatchObject({ details: '', otherNodeName: null, otherConninfo: null, otherNodeId: null });
    });

    it('standby_follow names the upstream, not this node', () => {
      const call = parseRepmgrArgv(capture('standby_follow', 'node3').args);
      expect(call.nodeId).toBe(3);
      expect(call.otherNodeName).toBe('node2');
      expect(call.otherConninfo).toBe('host=127.0.0.1 port=55433 user=repmgr dbname=repmgr connect_timeout=2');
      expect(call.otherNodeId).toBe(2);
    });

    it('standby_switchover carries the demoted old primary in %p', () => {
      const call = parseRepmgrArgv(capture('standby_switchover').args);
      expect(call).toMatchObject({ nodeId: 2, otherNodeId: 1, otherNodeName: null, otherConninfo: null });
      expect(call.details).toBe('node "node2" (ID: 2) promoted to primary, node "node1" (ID: 1) demoted to standby');
    });

    it('repmgrd_failover_promote carries the failed old primary in %p', () => {
      const call = parseRepmgrArgv(capture('repmgrd_failover_promote').args);
      expect(call).toMatchObject({ nodeId: 1, otherNodeId: 2 });
      expect(call.details).toContain('old primary "node2" (ID: 2) marked as failed');
    });

    it('a non-numeric %p (cut or garbled) is null, not NaN', () => {
      const args = [...capture('standby_switchover').args];
      args[7] = '1x';
      expect(parseRepmgrArgv(args).otherNodeId).toBeNull();
    });
  });

  describe('truncated argv (repmgr cuts the command at 1023 bytes)', () => {
    const full = capture('repmgrd_failover_promote').args;

    it.each([4, 5, 6, 7, 8])('keeps parsing with only the first %i arguments', (count) => {
      // Act
      const call = parseRepmgrArgv(full.slice(0, count));

      // Assert: the required four are intact, the rest is what arrived
      expect(call).toMatchObject({ nodeId: 1, event: 'repmgrd_failover_promote', success: true, occurredAt: '2026-11-22T02:08:54.669Z' });
      expect(call.details).toBe(count > 4 ? full[4] : '');
      expect(call.otherNodeId).toBe(count > 7 ? 2 : null);
    });

    it('keeps details cut mid-sentence as they arrived', () => {
      const cut = (full[4] ?? '').slice(0, 17);
      const call = parseRepmgrArgv([...full.slice(0, 4), cut]);
      expect(call.details).toBe('node "node1" (ID:');
    });

    it('ignores any extra trailing arguments', () => {
      const call = parseRepmgrArgv([...full, 'more', 'noise']);
      expect(call.otherNodeId).toBe(2);
    });
  });

  describe('malformed required arguments throw ArgvError naming them', () => {
    const good = capture('standby_promote', 'node2').args;
    const withArg = (position: number, value: string | undefined): string[] =>
      value === undefined ? good.slice(0, position) : [...good.slice(0, position), value, ...good.slice(position + 1)];

    it.each([
      ['%n', 0, undefined],
      ['%n', 0, ''],
      ['%n', 0, 'node2'],
      ['%n', 0, '-2'],
      ['%n', 0, '0'],
      ['%n', 0, '2.5'],
      ['%n', 0, '1234567890'],
      ['%e', 1, undefined],
      ['%e', 1, ''],
      ['%e', 1, 'Standby_Promote'],
      ['%e', 1, 'standby promote'],
      ['%e', 1, '$(reboot)'],
      ['%e', 1, 'x'.repeat(65)],
      ['%s', 2, undefined],
      ['%s', 2, ''],
      ['%s', 2, 'true'],
      ['%s', 2, '2'],
      ['%t', 3, undefined],
      ['%t', 3, ''],
      ['%t', 3, '2026-11-22'],
      ['%t', 3, 'not a time'],
    ] as const)('%s = %j', (field, position, value) => {
      // Arrange
      const args = withArg(position, value);

      // Act
      const error = thrownBy(() => parseRepmgrArgv(args));

      // Assert
      expect(error).toBeInstanceOf(ArgvError);
      expect((error as ArgvError).field).toBe(field);
      expect((error as ArgvError).message.startsWith(`${field}: `)).toBe(true);
    });

    it('an empty argv names %n', () => {
      const error = thrownBy(() => parseRepmgrArgv([]));
      expect(error).toBeInstanceOf(ArgvError);
      expect((error as ArgvError).field).toBe('%n');
    });

    it('%s = 0 is a valid failed event, not an error', () => {
      expect(parseRepmgrArgv(withArg(2, '0')).success).toBe(false);
    });
  });
});
