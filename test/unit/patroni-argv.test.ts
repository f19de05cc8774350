import { ArgvError } from '../../shared/domain/errors';
import { isPrimaryRole, parsePatroniArgv, PATRONI_ACTIONS } from '../../shared/domain/patroni-argv';
import { thrownBy } from '../support/errors';
import { loadPatroniInvocations } from '../support/peers';

const captures = loadPatroniInvocations();

describe('parsePatroniArgv', () => {
  describe('every captured Patroni callback', () => {
    it('holds 20 invocations of exactly action, role, scope', () => {
      expect(captures).toHaveLength(20);
      for (const c of captures) expect(c.args).toHaveLength(3);
    });

    it.each(captures.map((c) => [c.index, c.node, c.args.join(' '), c] as const))('#%i %s: %s', (_i, _node, _text, c) => {
      // Act
      const call = parsePatroniArgv(c.args);

      // Assert
      expect(call).toEqual({ action: c.args[0], role: c.args[1], scope: 'peers-demo' });
    });

    it('covers every action but none of the 4.x role names (3.0.2 says master)', () => {
      const calls = captures.map((c) => parsePatroniArgv(c.args));
      expect(new Set(calls.map((c) => c.action))).toEqual(new Set(PATRONI_ACTIONS));
      expect(new Set(calls.map((c) => c.role))).toEqual(new Set(['master', 'replica', 'demoted']));
    });
  });

  describe('roles', () => {
    it.each([
      ['master', true],
      ['primary', true],
      ['replica', false],
      ['demoted', false],
      ['standby_leader', false],
      ['uninitialized', false],
    ] as const)('%s parses; primary role: %s', (role, primary) => {
      // Act
      const call = parsePatroniArgv(['on_role_change', role, 'pg-main']);

      // Assert
      expect(call.role).toBe(role);
      expect(isPrimaryRole(call.role)).toBe(primary);
    });

    it('isPrimaryRole is false for null (repmgr events carry no role)', () => {
      expect(isPrimaryRole(null)).toBe(false);
    });
  });

  describe('bad arguments throw ArgvError naming them', () => {
    it.each([
      ['action', []],
      ['action', ['']],
      ['action', ['on_promote', 'master', 'pg-main']],
      ['action', ['ON_START', 'master', 'pg-main']],
      ['action', ['master', 'on_start', 'pg-main']],
      ['role', ['on_start']],
      ['role', ['on_start', '', 'pg-main']],
      ['role', ['on_start', 'leader', 'pg-main']],
      ['role', ['on_start', 'Master', 'pg-main']],
      ['scope', ['on_start', 'master']],
      ['scope', ['on_start', 'master', '']],
    ] as const)('%s: %j', (field, args) => {
      // Act
      const error = thrownBy(() => parsePatroniArgv(args));

      // Assert
      expect(error).toBeInstanceOf(ArgvError);
      expect((error as ArgvError).field).toBe(field);
      expect((error as ArgvError).message.startsWith(`${field}: `)).toBe(true);
    });
  });
});
