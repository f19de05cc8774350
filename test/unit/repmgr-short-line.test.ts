import { InvalidRequestError, NotFoundError } from '../../shared/domain/errors';
import { validateEvent } from '../../shared/app/validate-event';
import { buildEvent } from '../../shared/protocol/build-event';
import { parseVipEvent } from '../../shared/protocol/event-schema';
import { thrownBy } from '../support/errors';
import { loadRepmgrInvocations, nodeRecord } from '../support/peers';

const NOW = new Date('2026-11-22T03:00:00.000Z');
const captures = loadRepmgrInvocations();
/** What `event_notification_command='vipswitch-hook repmgr %n %e %s'` passes for a captured call. */
const shortArgs = (args: readonly string[]): string[] => args.slice(0, 3);

describe('a repmgr line without %t (e.g. `%n %e %s`)', () => {
  describe('buildEvent', () => {
    it.each(captures.map((c) => [c.index, c.node, c.args[1], c] as const))('#%i %s %s: the hook clock stands in, marked', (_i, node, event, c) => {
      // Act
      const built = buildEvent('repmgr', shortArgs(c.args), { cluster: 'pg-main', node }, c.facts, NOW, `short-line-${c.index}`);

      // Assert: an event, not an unparsed call; its time is the hook's and says so
      expect(built).toMatchObject({ source: 'repmgr', type: event, success: true, details: '', occurredAt: NOW.toISOString(), facts: c.facts });
      expect(built.raw).toEqual({ argv: shortArgs(c.args), occurredAtFrom: 'hook' });
      expect(parseVipEvent(JSON.parse(JSON.stringify(built)))).toEqual({ ok: true, event: built });
    });

    it('a full line keeps repmgr\'s %t and carries no marker (the body is as before)', () => {
      const promote = captures.find((c) => c.node === 'node2' && c.args[1] === 'standby_promote')!;
      const built = buildEvent('repmgr', promote.args, { cluster: 'pg-main', node: 'node2' }, promote.facts, NOW, 'full');
      expect(built.occurredAt).toBe('2026-11-22T02:08:22.720Z');
      expect(built.raw).toEqual({ argv: promote.args });
      expect('occurredAtFrom' in built.raw).toBe(false);
    });
  });

  describe('event schema (v1, additive)', () => {
    const promote = captures.find((c) => c.node === 'node2' && c.args[1] === 'standby_promote')!;
    const body = (raw: unknown): unknown => ({ ...buildEvent('repmgr', promote.args, { cluster: 'pg-main', node: 'node2' }, promote.facts, NOW, 'schema-1'), raw });

    it.each([
      ['absent', { argv: ['2', 'standby_promote', '1'] }, true],
      ['hook', { argv: ['2', 'standby_promote', '1'], occurredAtFrom: 'hook' }, true],
      ['tool', { argv: promote.args, occurredAtFrom: 'tool' }, true],
      ['server (not a value)', { argv: ['2', 'standby_promote', '1'], occurredAtFrom: 'server' }, false],
      ['null', { argv: ['2', 'standby_promote', '1'], occurredAtFrom: null }, false],
      ['another field beside it', { argv: ['2', 'standby_promote', '1'], occurredAtFrom: 'hook', clock: 'x' }, false],
    ] as const)('raw.occurredAtFrom %s → valid %s', (_label, raw, ok) => {
      expect(parseVipEvent(body(raw)).ok).toBe(ok);
    });
  });

  describe('validateEvent (the server side of the same rule)', () => {
    const promote = captures.find((c) => c.node === 'node1' && c.args[1] === 'repmgrd_failover_promote')!;
    const signedAs = nodeRecord('node1');
    const bodyWith = (argv: string[]): string =>
      JSON.stringify({ ...buildEvent('repmgr', promote.args, { cluster: 'pg-main', node: 'node1' }, promote.facts, NOW, 'validate-1'), raw: { argv, occurredAtFrom: 'hook' } });

    it.each([
      ['%n %e %s', shortArgs(promote.args)],
      ['%n %e %s "%d"', [...shortArgs(promote.args), promote.args[4]!]],
      ['%n %e %s "%d" "%a" "%c" "%p"', [...shortArgs(promote.args), ...promote.args.slice(4, 8)]],
    ])('accepts `%s` (no 400 invalid_argv)', (_line, argv) => {
      expect(validateEvent(bodyWith(argv), signedAs).raw.argv).toEqual(argv);
    });

    it('still refuses a line without %n: 400 invalid_argv', () => {
      const error = thrownBy(() => validateEvent(bodyWith(['repmgrd_failover_promote', '1']), signedAs));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).code).toBe('invalid_argv');
      expect((error as InvalidRequestError).message).toContain('%n');
    });

    it("still checks %n against the signing node's repmgr id: 404 node_id_mismatch", () => {
      const error = thrownBy(() => validateEvent(bodyWith(['2', 'repmgrd_failover_promote', '1']), signedAs));
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).code).toBe('node_id_mismatch');
    });
  });
});
