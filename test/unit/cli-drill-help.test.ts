/**
 * `vipswitch --help` and `vipswitch drill --help` name every tool the drill runs, every scenario of each (as the
 * drill runs them) and every option the drill parses: the help is checked against the code, not against a copy.
 */
import { runCli } from '../../cli/src/program';
import { DRILL_OPTIONS, USAGE } from '../../local/drill/cli';
import { DRILL_SCENARIOS, DRILL_TOOLS } from '../../local/drill/vipswitch/drill-types';

async function help(argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await runCli(argv, { root: '/nonexistent', io: { stdout: (t) => (stdout += t), stderr: () => undefined, env: {}, now: () => new Date() } });
  return { code, stdout };
}

describe('vipswitch --help: the drill command', () => {
  it('names the four tools the drill runs and its options, and points at "vipswitch drill --help"', async () => {
    // Act
    const { code, stdout } = await help(['--help']);

    // Assert: commander wraps the description; compare it with its line breaks folded
    const text = stdout.replace(/\s+/g, ' ');
    expect(code).toBe(0);
    const drill = text.slice(text.indexOf('drill [args...]'));
    for (const word of ['repmgr', 'Patroni', 'keepalived', 'Pgpool-II', '--tool repmgr|patroni|keepalived|pgpool', '--scenario', '--latency aws|instant', '--insync-ms', '--observe', '--logs', '--json', 'vipswitch drill --help']) {
      expect(drill).toContain(word);
    }
    expect(drill).not.toMatch(/repmgr \/ Patroni \+ the real hook/);
  });
});

describe('vipswitch drill --help (USAGE)', () => {
  it.each(DRILL_TOOLS.map((tool) => [tool]))('lists %s and every one of its scenarios, in the order they run', (tool) => {
    // Arrange
    const section = USAGE.slice(USAGE.indexOf('--scenario NAME      repeatable'), USAGE.indexOf('--latency PROFILE'));
    const from = section.indexOf(`${tool}:`);

    // Assert
    expect(USAGE).toContain(`--tool repmgr|patroni|keepalived|pgpool`);
    const tools = USAGE.slice(USAGE.indexOf('--tool TOOL'), USAGE.indexOf('--scenario NAME      repeatable'));
    expect(tools).toMatch(new RegExp(`\\s${tool}\\s{2,}\\S`));
    expect(from).toBeGreaterThanOrEqual(0);
    const positions = DRILL_SCENARIOS[tool].map((name) => section.indexOf(` ${name} `, from));
    expect(positions.every((p) => p > from)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('documents every option the drill parses', () => {
    for (const [name, option] of Object.entries(DRILL_OPTIONS)) {
      expect(USAGE).toMatch(new RegExp(`^ +${'short' in option ? `-${option.short}, ` : ''}--${name}\\b`, 'm'));
    }
  });
});
