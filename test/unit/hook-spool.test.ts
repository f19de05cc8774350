import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool, recordName, type SpoolRecord } from '../../hooks/src/spool';
import { hookEvent } from '../support/events';

const ROOT = join(__dirname, '..', '..');

function record(id: string, state: SpoolRecord['state'] = 'ready'): SpoolRecord {
  return { spool: 1, state, pid: process.pid, spooledAt: '2026-11-22T02:08:22.800Z', event: hookEvent(id) };
}

describe('Spool', () => {
  let dir: string;
  let spool: Spool;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'vipswitch-spool-')), 'spool');
    spool = new Spool(dir);
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  describe('ordering', () => {
    it('lists records oldest first, whatever order they were written in', () => {
      const t = Date.parse('2026-11-22T02:08:22.000Z');
      spool.add(record('c'), new Date(t + 2000));
      spool.add(record('a'), new Date(t));
      spool.add(record('b'), new Date(t + 1));

      const ids = spool.list().map((name) => spool.read(name)!.event.id);

      expect(ids).toEqual(['a', 'b', 'c']);
    });

    it('keeps the order of records written in the same millisecond by one process', () => {
      const now = new Date();
      for (const id of ['first', 'second', 'third']) spool.add(record(id), now);
      expect(spool.list().map((name) => spool.read(name)!.event.id)).toEqual(['first', 'second', 'third']);
    });

    it('sorts by time before pid, so an older record of a higher pid still comes first', () => {
      const older = recordName(new Date(1000), 99999, 'x');
      const newer = recordName(new Date(1001), 1, 'y');
      expect([newer, older].sort()).toEqual([older, newer]);
    });

    it('ignores temp files and sub-directories', () => {
      spool.add(record('a'));
      writeFileSync(join(dir, '.tmp-half-written.json-1-abc'), '{"spool":1,');
      spool.addUnparsed({ spool: 1, kind: 'unparsed', pid: 1, spooledAt: '', argv: ['x'], error: 'bad' });
      expect(spool.list()).toHaveLength(1);
    });
  });

  describe('files', () => {
    it('creates the directory 0700 and records 0600, complete JSON with a trailing newline', () => {
      const name = spool.add(record('a', 'probing'));
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
      const text = readFileSync(join(dir, name), 'utf8');
      expect(text.endsWith('}\n')).toBe(true);
      expect(JSON.parse(text)).toEqual(record('a', 'probing'));
    });

    it('replaces a record in place (same name) with the probed facts', () => {
      const name = spool.add(record('a', 'probing'));
      const facts = { inRecovery: false, timeline: 3, lsn: '0/5000060', systemIdentifier: '7710811430681400266' };
      spool.replace(name, { ...record('a'), event: { ...hookEvent('a'), facts } });
      expect(spool.list()).toEqual([name]);
      expect(spool.read(name)).toMatchObject({ state: 'ready', event: { facts } });
      expect(readdirSync(dir).filter((entry) => entry.startsWith('.tmp-'))).toEqual([]);
    });

    it('reads a vanished record as null and refuses a file that is not a record', () => {
      expect(spool.read('000-missing.json')).toBeNull();
      spool.ensure();
      writeFileSync(join(dir, '0001-odd.json'), '{"hello":1}');
      expect(() => spool.read('0001-odd.json')).toThrow(/not a spool record/);
      spool.quarantine('0001-odd.json');
      expect(spool.list()).toEqual([]);
      expect(readdirSync(join(dir, 'unparsed'))).toEqual(['0001-odd.json']);
    });

    it('moves an answered record to answered/ beside its answer; remove is idempotent', () => {
      const first = spool.add(record('a'));
      const second = spool.add(record('b'));
      spool.moveToAnswered(first, { answeredAt: 'now', status: 409, code: 'stale_claim', message: 'older timeline', attempts: 1, body: '{}' });
      spool.remove(second);
      spool.remove(second);
      expect(spool.list()).toEqual([]);
      expect(readdirSync(join(dir, 'answered')).sort()).toEqual([first.replace(/\.json$/, '.answer.json'), first].sort());
      expect(JSON.parse(readFileSync(join(dir, 'answered', first.replace(/\.json$/, '.answer.json')), 'utf8'))).toMatchObject({ status: 409, code: 'stale_claim' });
    });

    it('sweeps temp files left by killed writers once they are old', () => {
      spool.ensure();
      const stale = join(dir, '.tmp-x.json-1-aaaa');
      const fresh = join(dir, '.tmp-y.json-2-bbbb');
      writeFileSync(stale, '{');
      writeFileSync(fresh, '{');
      const old = new Date(Date.now() - 3600_000);
      utimesSync(stale, old, old);
      spool.sweepTemp(600_000);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(fresh)).toBe(true);
    });
  });

  describe('atomicity (a real concurrent writer process)', () => {
    const FILL = 256 * 1024; // large enough that a non-atomic write is caught half-done
    const writers = new Set<() => void>();
    afterEach(() => {
      for (const kill of writers) kill();
      writers.clear();
    });

    function startWriter(name: string, rounds: number): { done: Promise<number | null>; kill: () => void; started: Promise<void> } {
      const script = join(dir, '..', 'writer.ts');
      writeFileSync(
        script,
        `import { Spool } from ${JSON.stringify(join(ROOT, 'hooks', 'src', 'spool'))};
const [dir, name, rounds] = process.argv.slice(2) as [string, string, string];
const spool = new Spool(dir);
const base = JSON.parse(require('node:fs').readFileSync(require('node:path').join(dir, name), 'utf8'));
for (let i = 1; i <= Number(rounds); i++) {
  spool.replace(name, { ...base, state: 'ready', event: { ...base.event, details: String(i % 10).repeat(${FILL}) } });
  if (i === 1) process.stdout.write('started\\n');
}
`,
      );
      // One process (tsx as a loader, not its CLI wrapper), so SIGKILL hits the writer itself.
      const child = spawn(process.execPath, ['--import', 'tsx', script, dir, name, String(rounds)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      const started = new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', () => resolve());
        child.on('error', reject);
        child.on('close', (code) => reject(new Error(`writer exited (${code}) before it started`)));
      });
      const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      const kill = (): void => void child.kill('SIGKILL');
      writers.add(kill);
      return { done, started, kill };
    }

    function checkComplete(name: string): boolean {
      const parsed = JSON.parse(readFileSync(join(dir, name), 'utf8')) as SpoolRecord;
      const details = parsed.event.details;
      return details === '' || (details.length === FILL && details === details[0]!.repeat(FILL));
    }

    it('never shows a reader a partial record while another process rewrites it', async () => {
      // Arrange
      const name = spool.add(record('a', 'probing'));
      const writer = startWriter(name, 400);
      let exited = false;
      void writer.done.then(() => (exited = true));
      await writer.started;

      // Act: read as fast as possible until the writer is done
      let reads = 0;
      let complete = 0;
      while (!exited) {
        for (let i = 0; i < 20; i++) {
          reads++;
          if (checkComplete(name)) complete++;
        }
        await new Promise((resolve) => setImmediate(resolve));
      }

      // Assert
      expect(await writer.done).toBe(0);
      expect(reads).toBeGreaterThan(20);
      expect(complete).toBe(reads);
      expect(spool.list()).toEqual([name]);
    }, 60_000);

    it('leaves a complete record when the writer is SIGKILLed mid-rewrite', async () => {
      const name = spool.add(record('a', 'probing'));
      const writer = startWriter(name, 1_000_000);
      await writer.started;
      // Let it rewrite a few times (seen as the fill digit changing), then kill it.
      const digit = (): string => (JSON.parse(readFileSync(join(dir, name), 'utf8')) as SpoolRecord).event.details[0] ?? '';
      const seen = new Set<string>();
      const deadline = performance.now() + 10_000;
      while (seen.size < 3 && performance.now() < deadline) {
        seen.add(digit());
        await new Promise((resolve) => setImmediate(resolve));
      }
      writer.kill();
      await writer.done;

      expect(seen.size).toBe(3);
      expect(checkComplete(name)).toBe(true);
      expect(spool.list()).toEqual([name]);
      expect(spool.read(name)).toMatchObject({ state: 'ready', event: { id: 'a' } });
    }, 60_000);
  });
});
