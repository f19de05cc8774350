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
      const lagMs = Date.parse(c.invokedAt) - Date.parse(call.occurredAt ?? '');
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

  describe('shorter lines (users trim event_notification_command): only %n %e %s are required', () => {
    // What repmgr would have passed for each captured call with a shorter line: the captured values of the
    // placeholders the line keeps, in its order; an unquoted placeholder split on spaces the way sh does.
    const PLACEHOLDERS = ['%n', '%e', '%s', '%t', '%d', '%a', '%c', '%p'] as const;
    function expand(c: PeerInvocation, line: string): string[] {
      return line.split(' ').flatMap((word) => {
        const quoted = word.startsWith('"');
        const value = c.args[PLACEHOLDERS.indexOf(word.replace(/"/g, '') as (typeof PLACEHOLDERS)[number])];
        if (value === undefined) throw new Error(`unknown placeholder ${word}`);
        return quoted ? [value] : value.split(' ').filter((part) => part !== '');
      });
    }

    it.each(captures.map((c) => [c.index, c.node, c.args[1], c] as const))('#%i %s %s with `%%n %%e %%s` has no time of its own', (_i, node, event, c) => {
      // Act
      const call = parseRepmgrArgv(expand(c, '%n %e %s'));

      // Assert: identity and outcome intact; no %t, so no time (the caller's clock stands in)
      expect(call).toEqual({ nodeId: Number(node.replace('node', '')), event, success: true, occurredAt: null, details: '', otherNodeName: null, otherConninfo: null, otherNodeId: null });
    });

    it.each([
      ['%n %e %s "%d"', 'node "node1" (ID: 1) promoted to primary; old primary "node2" (ID: 2) marked as failed', null],
      ['%n %e %s "%d" "%a" "%c" "%p"', 'node "node1" (ID: 1) promoted to primary; old primary "node2" (ID: 2) marked as failed', 2],
      ['%n %e %s "%t"', '', null],
      ['%n %e %s "%t" "%d"', 'node "node1" (ID: 1) promoted to primary; old primary "node2" (ID: 2) marked as failed', null],
      ['%n %e %s %t "%d" "%a" "%c" "%p"', 'node "node1" (ID: 1) promoted to primary; old primary "node2" (ID: 2) marked as failed', 2],
    ] as const)('repmgrd_failover_promote with `%s`', (line, details, otherNodeId) => {
      // Arrange
      const c = capture('repmgrd_failover_promote');

      // Act
      const call = parseRepmgrArgv(expand(c, line));

      // Assert: %t read when the line has it (quoted, or unquoted and split by sh), never taken for %d
      expect(call.occurredAt).toBe(line.includes('%t') ? '2026-11-22T02:08:54.669Z' : null);
      expect(call.details).toBe(details);
      expect(call.otherNodeId).toBe(otherNodeId);
    });

    it("reads an unquoted strftime %t (repmgr's fallback when no primary is reachable)", () => {
      const c = captures.find((x) => /\+0000$/.test(x.args[3] ?? ''))!;
      const call = parseRepmgrArgv(expand(c, '%n %e %s %t "%d"'));
      expect(call.occurredAt).toBe(new Date(`${c.args[3]!.replace(' ', 'T').replace('+0000', 'Z')}`).toISOString());
      expect(call.details).toBe(c.args[4]);
    });

    it.each(['2026-11-22', '2026-11-22 02:08:21', '2026-13-01 00:00:00+00', '2026-11-22 02:0'])(
      'a %%t slot it cannot read (%j) gives no time rather than a guess, and is not taken for %%d',
      (text) => {
        const call = parseRepmgrArgv(['2', 'standby_promote', '1', text, 'server "node2" (ID: 2) was successfully promoted to primary']);
        expect(call.occurredAt).toBeNull();
        expect(call.details).toBe('server "node2" (ID: 2) was successfully promoted to primary');
      },
    );

    it('an empty 4th argument is an empty %d, not a %t', () => {
      expect(parseRepmgrArgv(['2', 'standby_promote', '1', '', 'node1']).occurredAt).toBeNull();
      expect(parseRepmgrArgv(['2', 'standby_promote', '1', '', 'node1'])).toMatchObject({ details: '', otherNodeName: 'node1' });
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
