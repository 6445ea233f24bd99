// A test reporter (node --test-reporter) that appends one line per finished test, `pass FILE` or
// `fail FILE`, to the file named by STOCKADE_TEST_FILE_COUNTS, synchronously: the runner may exit
// right after its last test, before any buffered output is written. scripts/test.sh counts the
// lines per file and compares the SQLite and PostgreSQL runs, which run the same tests, to notice
// tests the runner lost without a word.
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';

export default async function* fileCounts(source) {
  const target = process.env.STOCKADE_TEST_FILE_COUNTS;
  for await (const event of source) {
    if (!target || (event.type !== 'test:pass' && event.type !== 'test:fail')) continue;
    // Suites are reported too; only tests count, as in the runner's own totals.
    if (event.data.details?.type === 'suite' || !event.data.file || event.data.skip || event.data.todo) continue;
    appendFileSync(target, `${event.type === 'test:pass' ? 'pass' : 'fail'} ${relative(process.cwd(), event.data.file).split('\\').join('/')}\n`);
  }
  yield '';
}
