// The agents on the page: the built-in one and an enrolled agent running as its own process
// show online with their host, version and movers; one enrolled but never started shows
// "never seen"; removed, an agent shows as no longer enrolled; "New replication" offers the online ones.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { Fixture, waitFor } from './harness.mjs';

const f = new Fixture();
after(() => f.close());

const cell = (page, id, name) => page.locator(`#agents-table tr[data-id="${id}"] .${name}`).textContent();

test('the page lists the agents, online or not', async () => {
  await f.startUp({ size: '256M', rate: '16M' });
  const [demo] = await f.jobs();
  await f.waitJob(demo.id, 'replicating', (j) => j.state === 'replicating');
  const agent = await f.startAgent('vma-a');
  assert.equal((await f.api('POST', '/agents', { id: 'vma-b' })).status, 201);

  const page = await f.openPage();
  const section = page.getByRole('region', { name: 'Agents' });
  await section.waitFor();
  await waitFor(`vma-a to show online (its log: ${agent.log})`,
    async () => (await cell(page, 'vma-a', 'status')) === 'online', 30000);
  assert.equal(await cell(page, 'local', 'id'), 'local (built in)');
  assert.equal(await cell(page, 'local', 'status'), 'online');
  // Movers as the agent last reported them (a status answer every 5 s, read every 10 s).
  await waitFor('local to show the demo job\'s mover',
    async () => (await cell(page, 'local', 'movers')) === '1', 30000);
  assert.equal(await cell(page, 'vma-a', 'movers'), '0');
  assert.notEqual(await cell(page, 'vma-a', 'host'), '–');
  assert.match(await cell(page, 'vma-a', 'version'), /\d/);
  assert.notEqual(await cell(page, 'vma-a', 'hello'), '–');
  assert.notEqual(await cell(page, 'vma-a', 'enrolled'), '–');
  assert.equal(await cell(page, 'vma-b', 'status'), 'never seen');
  assert.equal(await cell(page, 'vma-b', 'hello'), '–');

  // New replication offers the agents, the online ones first.
  await page.getByRole('button', { name: 'New replication' }).click();
  const dialog = page.getByRole('dialog');
  // The list comes from GET /agents once the dialog opens ("Asking the OMA…" until then).
  await waitFor('the dialog to offer vma-a', async () =>
    (await dialog.locator('select option').allTextContents()).some((o) => o.startsWith('vma-a')), 20000);
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  // Removed: the agent's process is cut off at once and ends; the page shows it no longer
  // enrolled at its next look (and offline once its last word is 30 s old).
  const ended = new Promise((resolve) => agent.on('exit', (code) => resolve(code)));
  assert.equal((await f.api('DELETE', '/agents/vma-a')).status, 200);
  assert.equal(await ended, 1);
  await waitFor('vma-a to show as no longer enrolled',
    async () => (await cell(page, 'vma-a', 'status')).endsWith(', not enrolled'), 30000);
  assert.equal(await cell(page, 'vma-a', 'enrolled'), '–');
  assert.deepEqual(page.errors, []);
});
