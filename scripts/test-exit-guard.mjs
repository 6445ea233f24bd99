// Loaded into every test file's process (run-tests.mjs passes it with --import). When all of a
// file's tests are done, anything still holding the process open (a pool, a server a test forgot)
// gets a few seconds, then the process exits, so one leaky file cannot hold the whole run until
// CI's deadline. Node's own --test-force-exit did this too eagerly on Node 20: it sometimes
// ended a file before its last suites had reported, and those tests were silently lost.
import { after } from 'node:test';

// Only in the processes that run a test file, not in the runner that starts them.
if (process.env.NODE_TEST_CONTEXT) {
  after(() => {
    setTimeout(() => process.exit(), 10_000).unref();
  });
}
