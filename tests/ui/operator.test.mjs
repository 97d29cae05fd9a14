// The rest of what an operator does on the page, against `migratekit up`: a batch stop of the
// selected rows, a stop that the OMA refuses (409) shown in plain words, a wrong token, and a
// server restart that the page rides out by reconnecting to /events.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Fixture, row, rowState, waitFor } from './harness.mjs';

const f = new Fixture();
let page;
const ids = {};

before(async () => {
  await f.startUp({ size: '512M', rate: '32M' });
  ids.demo = (await f.jobs())[0].id;
  const source = `nbd+unix:///?socket=${f.data}/demo/source.sock`;
  for (const name of ['web-01 disk 0', 'db-01 disk 0']) {
    const r = await f.api('POST', '/replications', { name, source, vma: 'local' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids[name] = r.body.id;
  }
  for (const id of Object.values(ids)) await f.waitJob(id, 'replicating', (j) => j.state === 'replicating');
  page = await f.openPage();
});
after(() => f.close());

test('a batch stop of the selected rows stops those and no others', async () => {
  const web = ids['web-01 disk 0'];
  const db = ids['db-01 disk 0'];
  for (const id of Object.values(ids)) await rowState(page, id, 'replicating');
  await page.getByRole('checkbox', { name: 'Select demo disk 0' }).check();
  await page.getByRole('checkbox', { name: 'Select web-01 disk 0' }).check();
  await page.getByRole('button', { name: 'Stop selected (2)' }).click();
  const dialog = page.getByRole('dialog', { name: 'Stop 2 replications' });
  await dialog.getByText('web-01 disk 0 (replicating, VMA local)').waitFor();
  await dialog.getByRole('button', { name: 'Stop 2 replications' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await rowState(page, ids.demo, 'stopped');
  await rowState(page, web, 'stopped');
  assert.equal((await f.job(db)).state, 'replicating');
  assert.equal((await f.job(web)).stop.reason, 'batch');
  assert.equal(await page.getByRole('button', { name: 'Stop selected' }).isDisabled(), true);
});

test('a stop that the OMA refuses is shown to the operator in plain words', async () => {
  const db = ids['db-01 disk 0'];
  await page.getByRole('button', { name: 'Stop db-01 disk 0' }).click();
  const dialog = page.getByRole('dialog', { name: 'Stop replication “db-01 disk 0”' });
  await dialog.getByText('SIGTERM to the mover').waitFor();
  // Meanwhile somebody else stops it (the CLI, a script): the page's stop comes second.
  const other = await f.api('POST', `/replications/${db}/stop`, { comment: 'from a script' });
  assert.equal(other.status, 202);
  await f.waitJob(db, 'stopped', (j) => j.state === 'stopped');
  await dialog.getByRole('button', { name: 'Stop replication' }).click();
  const error = dialog.getByRole('alert');
  await error.waitFor();
  const text = await error.textContent();
  assert.match(text, /^Stopping db-01 disk 0 is not possible now: job r-[0-9a-f]+ is stopped: nothing to stop\.$/);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await rowState(page, db, 'stopped');
  assert.equal((await f.job(db)).stop.comment, 'from a script');
});

test('a wrong token gets the token form and a message that says so', async () => {
  const other = await f.context.newPage();
  await other.goto(`${f.up.origin}/?token=${'0'.repeat(64)}`);
  await other.getByRole('alert').filter({ hasText: 'the API token is missing or wrong' }).waitFor();
  await other.getByLabel('API token').waitFor();
  assert.equal(new URL(other.url()).search, '');
  await other.getByLabel('API token').fill(f.up.token);
  await other.getByRole('button', { name: 'Use this token' }).click();
  await other.waitForSelector('#connection[data-state="live"]');
  await rowState(other, ids.demo, 'stopped');
  await other.close();
});

test('the page reconnects when the server restarts, and follows the jobs without a reload', async () => {
  const web = ids['web-01 disk 0'];
  const resumed = await f.api('POST', `/replications/${web}/resume`);
  assert.equal(resumed.status, 202);
  await rowState(page, web, 'replicating');
  await page.evaluate(() => { window.sameDocument = true; });

  // Ctrl-C: `up` stops the running job for the shutdown, and goes.
  const port = f.up.port;
  await f.up.interrupt();
  await page.waitForSelector('#connection:not([data-state="live"])');
  assert.match(await page.locator('#connection').textContent(), /Connection to the OMA lost/);

  // The next `up` on the same address resumes it; the page sees that on its own.
  await f.startUp({ size: '512M', rate: '32M', port });
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 60000 });
  await rowState(page, web, 'replicating');
  await waitFor('progress after the restart', async () =>
    /MiB of 512\.0 MiB/.test(await row(page, web).locator('.progress-text').textContent()));
  assert.equal(await page.evaluate(() => window.sameDocument), true, 'the page was reloaded');
  assert.deepEqual(page.errors, []);
});
