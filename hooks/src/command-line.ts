import { HOOK_MODES, type HookMode } from '../../shared/protocol/build-event';
import { UsageError } from './errors';

/** What the hook was asked to do. Global flags come before the mode word; everything after it is the tool's. */
export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'hook'; mode: HookMode; configPath: string | undefined; factsJson: string | undefined; args: string[] }
  | { kind: 'flush'; configPath: string | undefined }
  | { kind: 'ping'; configPath: string | undefined; json: boolean };

const VALUE_FLAGS = ['--config', '--facts-json'] as const;

/**
 * Parse the hook's own command line.
 * @throws UsageError for an unknown flag, a flag without its value, a missing or unknown mode word
 */
export function parseCommandLine(argv: readonly string[]): Command {
  let configPath: string | undefined;
  let factsJson: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version' || arg === '-V') return { kind: 'version' };
    const flag = VALUE_FLAGS.find((name) => arg === name || arg.startsWith(`${name}=`));
    if (flag) {
      let value: string | undefined;
      if (arg.length > flag.length) value = arg.slice(flag.length + 1);
      else value = argv[++i];
      if (value === undefined) throw new UsageError(`${flag} needs a value`);
      if (flag === '--config') configPath = value;
      else factsJson = value;
      continue;
    }
    if (arg.startsWith('-')) throw new UsageError(`unknown option ${JSON.stringify(arg)} (global options go before the mode word)`);
    if ((HOOK_MODES as readonly string[]).includes(arg)) {
      return { kind: 'hook', mode: arg as HookMode, configPath, factsJson, args: argv.slice(i + 1) };
    }
    if (arg === 'ping') {
      if (factsJson !== undefined) throw new UsageError('--facts-json applies to repmgr and patroni calls, not to ping');
      const rest = argv.slice(i + 1);
      const unknown = rest.find((a) => a !== '--json');
      if (unknown !== undefined) throw new UsageError(`ping takes only --json, got ${JSON.stringify(unknown)}`);
      return { kind: 'ping', configPath, json: rest.includes('--json') };
    }
    if (arg === 'flush') {
      if (i + 1 < argv.length) throw new UsageError(`flush takes no arguments, got ${JSON.stringify(argv[i + 1])}`);
      if (factsJson !== undefined) throw new UsageError('--facts-json applies to repmgr and patroni calls, not to flush');
      return { kind: 'flush', configPath };
    }
    throw new UsageError(`unknown mode ${JSON.stringify(arg)} (expected ${HOOK_MODES.join(', ')}, flush or ping)`);
  }
  throw new UsageError(`missing mode (${HOOK_MODES.join(', ')}, flush or ping)`);
}

/**
 * Best-effort look at a command line that failed to parse: was it a repmgr / Patroni call (then the hook must still
 * exit 0 and keep the call), and which `--config` did it name? Never throws.
 */
export function scanHookCall(argv: readonly string[]): { mode: HookMode; configPath: string | undefined } | null {
  const index = argv.findIndex((arg) => (HOOK_MODES as readonly string[]).includes(arg));
  if (index < 0) return null;
  let configPath: string | undefined;
  for (let i = 0; i < index; i++) {
    const arg = argv[i]!;
    if (arg === '--config' && i + 1 < index) configPath = argv[i + 1];
    else if (arg.startsWith('--config=')) configPath = arg.slice('--config='.length);
  }
  return { mode: argv[index] as HookMode, configPath };
}
