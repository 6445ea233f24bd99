/**
 * Where a command's results go. With `--json` stdout carries exactly one JSON document per
 * command, so scripts can parse it; human notes always go to stderr.
 */
export interface Output {
  readonly json: boolean;
  /** Writes the result: `data` as JSON under `--json`, otherwise the text `text()` returns. */
  result(data: unknown, text: () => string): void;
  /** A line for people, on stderr. */
  note(line: string): void;
}

export function createOutput(options: { json: boolean; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Output {
  const { json, stdout, stderr } = options;
  return {
    json,
    result(data, text) {
      if (json) {
        stdout.write(JSON.stringify(data, null, 2) + '\n');
        return;
      }
      const body = text();
      if (body !== '') stdout.write(body.endsWith('\n') ? body : body + '\n');
    },
    note(line) {
      stderr.write(line + '\n');
    },
  };
}

/** Left-aligned columns separated by two spaces; `rows` excludes the header. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Dates in listings: the ISO string without milliseconds, or `-`. */
export function formatDate(iso: string | null): string {
  return iso ? iso.replace(/\.\d{3}Z$/, 'Z') : '-';
}
