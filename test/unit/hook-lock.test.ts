import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, isProcessAlive, LOCK_NAME, tryAcquireLock } from '../../hooks/src/lock';
import { deadPid, killLater, killStarted, liveProcess } from '../support/processes';

const ROOT = join(__dirname, '..', '..');

describe('sender lock', () => {
  let dir: string;
  let lockPath: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vipswitch-lock-'));
    lockPath = join(dir, LOCK_NAME);
  });
  afterEach(() => {
    killStarted();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds our pid while held and removes the file on release', () => {
    const lock = tryAcquireLock(dir, { staleMs: 60_000 });
    expect(lock).not.toBeNull();
    expect(readFileSync(lockPath, 'utf8')).toBe(`${process.pid}\n`);
    lock!.release();
    lock!.release();
    expect(existsSync(lockPath)).toBe(false);
  });

  it('is refused while a live process holds it', async () => {
    writeFileSync(lockPath, `${await liveProcess()}\n`);
    expect(tryAcquireLock(dir, { staleMs: 60_000 })).toBeNull();
  });

  it('is broken when its holder is dead', async () => {
    writeFileSync(lockPath, `${await deadPid()}\n`);
    const lock = tryAcquireLock(dir, { staleMs: 60_000 });
    expect(lock).not.toBeNull();
    expect(readFileSync(lockPath, 'utf8')).toBe(`${process.pid}\n`);
  });

  it('is broken when older than staleMs even if its pid looks alive (pid reuse, hung holder)', async () => {
    writeFileSync(lockPath, `${await liveProcess()}\n`);
    const old = new Date(Date.now() - 120_000);
    utimesSync(lockPath, old, old);
    expect(tryAcquireLock(dir, { staleMs: 60_000 })).not.toBeNull();
  });

  it('treats a fresh empty lock file as held (its writer has not written the pid yet), an old one as abandoned', () => {
    writeFileSync(lockPath, '');
    expect(tryAcquireLock(dir, { staleMs: 60_000 })).toBeNull();
    const old = new Date(Date.now() - 10_000);
    utimesSync(lockPath, old, old);
    expect(tryAcquireLock(dir, { staleMs: 60_000 })).not.toBeNull();
  });

  it('does not remove a lock that another process took over', () => {
    const lock = tryAcquireLock(dir, { staleMs: 60_000 })!;
    writeFileSync(lockPath, '1\n');
    lock.release();
    expect(readFileSync(lockPath, 'utf8')).toBe('1\n');
  });

  it('acquireLock polls until the holder goes away, or gives up at the deadline', async () => {
    const holder = killLater(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }));
    await new Promise((resolve) => holder.once('spawn', resolve));
    writeFileSync(lockPath, `${holder.pid}\n`);
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

    const refused = await acquireLock(dir, performance.now() + 100, { staleMs: 60_000 }, sleep);
    const waiting = acquireLock(dir, performance.now() + 10_000, { staleMs: 60_000 }, sleep);
    holder.kill('SIGKILL');
    const taken = await waiting;

    expect(refused).toBeNull();
    expect(taken).not.toBeNull();
  });

  it('never lets two processes hold it at once, while holders keep dying and their locks get broken', async () => {
    // Arrange: 8 processes loop: take the lock, prove exclusivity with an O_EXCL marker file, then either release
    // or "crash" (leave the lock naming a dead pid) so that the others must break it: the racy path.
    const dead = await deadPid();
    const script = join(dir, 'contender.ts');
    writeFileSync(
      script,
      `import { closeSync, existsSync, openSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tryAcquireLock } from ${JSON.stringify(join(ROOT, 'hooks', 'src', 'lock'))};
const [dir, go, dead] = process.argv.slice(2) as [string, string, string];
const marker = join(dir, 'inside');
while (!existsSync(go)) { /* start together */ }
let held = 0;
let violations = 0;
for (let i = 0; i < 400; i++) {
  const lock = tryAcquireLock(dir, { staleMs: 60000 });
  if (!lock) continue;
  held++;
  try { closeSync(openSync(marker, 'wx')); } catch { violations++; continue; }
  for (let spin = 0; spin < 2000; spin++) Math.sqrt(spin);
  unlinkSync(marker);
  if (i % 2 === 0) writeFileSync(join(dir, '.lock'), dead + '\\n');
  else lock.release();
}
process.stdout.write(JSON.stringify({ held, violations }) + '\\n');
`,
    );
    const go = join(dir, 'go');
    const results = Array.from({ length: 8 }, () => {
      const child = killLater(spawn(process.execPath, ['--import', 'tsx', script, dir, go, String(dead)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] }));
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      return new Promise<{ held: number; violations: number }>((resolve, reject) =>
        child.once('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`contender exited ${code}`)))),
      );
    });

    // Act
    writeFileSync(go, '');
    const totals = await Promise.all(results);

    // Assert
    expect(totals.reduce((sum, t) => sum + t.violations, 0)).toBe(0);
    expect(totals.reduce((sum, t) => sum + t.held, 0)).toBeGreaterThan(50);
  }, 60_000);
});

describe('isProcessAlive', () => {
  afterEach(() => killStarted());

  it('knows itself, and not a pid that exited', async () => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('close', resolve));
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(child.pid!)).toBe(false);
    expect(isProcessAlive(0)).toBe(false);
    expect(isProcessAlive(-1)).toBe(false);
  });

  it('counts a zombie (killed, not reaped: what Patroni leaves behind) as dead', async () => {
    // sh starts a child that exits a moment later, after sh has become `sleep`, which never reaps it (a child that
    // exits before the exec could be reaped by sh itself).
    const parent = killLater(spawn('sh', ['-c', 'sleep 0.5 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] }));
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()))));
    const state = (): string => {
      const stat = readFileSync(`/proc/${zombie}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    };
    const deadline = performance.now() + 10_000;
    while (state() !== 'Z' && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));

    expect(state()).toBe('Z');
    expect(isProcessAlive(zombie)).toBe(false);
  });
});
