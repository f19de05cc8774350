import { ArgvError } from './errors';

export const PATRONI_ACTIONS = ['on_start', 'on_stop', 'on_restart', 'on_reload', 'on_role_change'] as const;
export type PatroniAction = (typeof PATRONI_ACTIONS)[number];

/** Roles as Patroni passes them: `master` in 3.x, `primary` in 4.x. */
export const PATRONI_ROLES = ['master', 'primary', 'replica', 'demoted', 'standby_leader', 'uninitialized'] as const;
export type PatroniRole = (typeof PATRONI_ROLES)[number];

/** One Patroni callback: Patroni appends `action role scope` to the configured command. */
export interface PatroniCall {
  action: PatroniAction;
  role: PatroniRole;
  scope: string;
}

/** True for the roles that mean "this member is the read-write primary". */
export function isPrimaryRole(role: string | null): boolean {
  return role === 'master' || role === 'primary';
}

/**
 * Parse the three arguments Patroni appends. The member name is not among them: it comes from the hook's config.
 * @throws ArgvError naming the argument when it is missing or not one Patroni sends.
 */
export function parsePatroniArgv(args: readonly string[]): PatroniCall {
  const [action, role, scope] = args;
  if (!PATRONI_ACTIONS.includes(action as PatroniAction)) {
    throw new ArgvError('action', `expected one of ${PATRONI_ACTIONS.join(', ')}, got ${JSON.stringify(action ?? null)}`);
  }
  if (!PATRONI_ROLES.includes(role as PatroniRole)) {
    throw new ArgvError('role', `expected one of ${PATRONI_ROLES.join(', ')}, got ${JSON.stringify(role ?? null)}`);
  }
  if (scope === undefined || scope.length === 0) throw new ArgvError('scope', 'missing cluster scope');
  return { action: action as PatroniAction, role: role as PatroniRole, scope };
}
