/** Where a command writes: text for people, or one JSON document under `--json` (stdout), errors to stderr. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  now(): Date;
}

export interface Output {
  json: boolean;
  /** A line for people (not printed under --json). */
  line(text?: string): void;
  /** The command's JSON document (printed only under --json). */
  result(value: unknown): void;
  /** A warning or progress note for people, on stderr (never under --json's stdout). */
  note(text: string): void;
}

export function output(io: Io, json: boolean): Output {
  return {
    json,
    line: (text = '') => {
      if (!json) io.stdout(`${text}\n`);
    },
    result: (value) => {
      if (json) io.stdout(`${JSON.stringify(value, null, 2)}\n`);
    },
    note: (text) => io.stderr(`${text}\n`),
  };
}
