/**
 * One long-lived `psql` process (argv, no shell) fed through its stdin, one statement at a time: the drill's write
 * client and its primary tracker keep one per target instead of spawning psql per statement (measured in
 * local/drill/README.md, "The write client").
 *
 * Each statement is followed by `\echo <marker> <n> :ERROR :SQLSTATE :'LAST_ERROR_MESSAGE'`, so its rows and its
 * outcome arrive on stdout, in order (stderr is drained; its last line names why psql exited). A statement that does not finish within its timeout kills the
 * process; so does a lost connection (psql exits 2 when not interactive). The next statement starts a new process.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { PG_BIN } from '../util';

export interface PsqlTarget {
  host: string;
  port: number;
  dbname: string;
  user: string;
}

export type StatementResult = { ok: true; rows: string[][]; ms: number } | { ok: false; error: string; sqlstate?: string; ms: number };

const MARKER = '__vipswitch_drill_end';

interface Pending {
  n: number;
  rows: string[][];
  started: number;
  resolve: (r: StatementResult) => void;
  timer: NodeJS.Timeout;
}

export class PsqlSession {
  private child: ChildProcessWithoutNullStreams | null = null;
  private pending: Pending | null = null;
  private seq = 0;
  private stdoutBuf = '';
  private stderrTail: string[] = [];
  /** processes started so far (one per connection) */
  spawned = 0;

  constructor(
    readonly target: PsqlTarget,
    private readonly opts: { connectTimeoutS?: number; statementTimeoutMs?: number; appName?: string } = {},
  ) {}

  /** Runs one statement (no trailing `;`), or fails within `timeoutMs` (the process is then killed). One at a time. */
  run(sql: string, timeoutMs: number): Promise<StatementResult> {
    if (this.pending) return Promise.resolve({ ok: false, error: 'a statement is already running on this session', ms: 0 });
    const child = this.child ?? this.start();
    const n = ++this.seq;
    const started = Date.now();
    return new Promise<StatementResult>((resolve) => {
      const timer = setTimeout(() => this.fail(`no answer within ${timeoutMs} ms`), timeoutMs);
      this.pending = { n, rows: [], started, resolve, timer };
      child.stdin.write(`${sql};\n\\echo ${MARKER} ${n} :ERROR :SQLSTATE :'LAST_ERROR_MESSAGE'\n`, (e) => {
        if (e) this.fail(`stdin: ${e.message}`);
      });
    });
  }

  /** Ends the process (a running statement fails); resolves once it is gone. */
  close(reason = 'closed'): Promise<void> {
    const child = this.child;
    const gone = child && child.exitCode === null && child.signalCode === null ? new Promise<void>((resolve) => child.once('close', () => resolve())) : Promise.resolve();
    if (this.pending) this.fail(reason);
    else this.kill();
    return gone;
  }

  private start(): ChildProcessWithoutNullStreams {
    const { host, port, dbname, user } = this.target;
    const child = spawn(`${PG_BIN}/psql`, ['-X', '-q', '-A', '-t', '-F', '|', '-v', 'ON_ERROR_STOP=0', '-h', host, '-p', String(port), '-U', user, '-d', dbname], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PGCONNECT_TIMEOUT: String(this.opts.connectTimeoutS ?? 2), PGAPPNAME: this.opts.appName ?? 'vipswitch-drill' },
    });
    this.child = child;
    this.spawned++;
    this.stdoutBuf = '';
    this.stderrTail = [];
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onStdout(child, chunk));
    child.stderr.on('data', (chunk: string) => {
      this.stderrTail.push(...chunk.split('\n').filter((l) => l.trim()));
      this.stderrTail = this.stderrTail.slice(-5);
    });
    child.stdin.on('error', () => undefined);
    child.once('error', (e) => {
      if (this.child === child) this.fail(`psql: ${e.message}`);
    });
    // 'close' (not 'exit'): stderr has been read by then, so the failure carries psql's last words
    child.once('close', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      if (this.pending) this.fail(`psql exited (${code ?? signal})${this.stderrTail.length ? `: ${this.stderrTail.at(-1)}` : ''}`);
    });
    if (this.opts.statementTimeoutMs) child.stdin.write(`SET statement_timeout = ${Math.floor(this.opts.statementTimeoutMs)};\n`);
    return child;
  }

  private onStdout(child: ChildProcessWithoutNullStreams, chunk: string): void {
    if (this.child !== child) return;
    this.stdoutBuf += chunk;
    let nl: number;
    while ((nl = this.stdoutBuf.indexOf('\n')) >= 0) {
      const line = this.stdoutBuf.slice(0, nl);
      this.stdoutBuf = this.stdoutBuf.slice(nl + 1);
      const p = this.pending;
      if (!p) continue;
      if (line.startsWith(`${MARKER} `)) {
        const [, n, error, sqlstate, ...message] = line.split(' ');
        if (Number(n) !== p.n) continue;
        const lastError = message.join(' ').replace(/^'|'$/g, '').replace(/''/g, "'");
        this.pending = null;
        clearTimeout(p.timer);
        const ms = Date.now() - p.started;
        if (error === 'false') p.resolve({ ok: true, rows: p.rows, ms });
        else p.resolve({ ok: false, error: lastError || (this.stderrTail.at(-1) ?? 'error'), ...(sqlstate ? { sqlstate } : {}), ms });
        this.stderrTail = [];
      } else if (line !== '') {
        p.rows.push(line.split('|'));
      }
    }
  }

  private fail(error: string): void {
    const p = this.pending;
    this.pending = null;
    this.kill();
    if (p) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, error, ms: Date.now() - p.started });
    }
  }

  private kill(): void {
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
