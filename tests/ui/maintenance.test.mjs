// The maintenance switch end to end: turned on from the page (a reason is asked for), the
// running job stops with reason maintenance, a resume is refused with the reason in plain
// words, and turning it off with "resume" brings the job back, all without a reload.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { Fixture, rowState } from './harness.mjs';

const f = new Fixture();
after(() => f.close());

test('maintenance mode from the switch: on, refused resume, off with resume', async () => {
  await f.startUp({ size: '256M', rate: '32M' });
  const [demo] = await f.jobs();
  await f.waitJob(demo.id, 'replicating', (j) => j.state === 'replicating');
  const page = await f.openPage();
  await rowState(page, demo.id, 'replicating');

  // The switch's name is the mode's alone (its state is aria-checked), and the header says
  // "off" once, beside it.
  const toggle = page.getByRole('switch', { name: 'Maintenance mode', exact: true });
  await page.waitForFunction(() => !document.getElementById('maintenance-switch').disabled);
  assert.equal(await toggle.getAttribute('aria-checked'), 'false');
  const header = async () => (await page.locator('#maintenance').innerText()).replace(/\s+/g, ' ').trim();
  assert.equal(await header(), 'Maintenance mode off');
  await toggle.click();
  const dialog = page.getByRole('dialog', { name: 'Maintenance mode' });
  await dialog.getByText('Every replication in scope stops gracefully').waitFor();
  await dialog.getByRole('button', { name: 'Turn on' }).click();
  await dialog.getByRole('alert').filter({ hasText: 'Say why' }).waitFor();
  await dialog.getByLabel('Reason (shown to operators and kept in the JobLog)').fill('storage firmware');
  await dialog.getByLabel('At most this many stops at once').fill('4');
  const frozen = f.freezeMovers();  // the stop stays under way until the thaw
  await dialog.getByRole('button', { name: 'Turn on' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await toggle.getAttribute('aria-checked'), 'true');
  assert.match(await page.locator('#maintenance-status').textContent(), /on \(all\): storage firmware/);
  assert.equal(await header(), 'Maintenance mode on (all): storage firmware');
  await rowState(page, demo.id, 'stopping', 10000);
  f.thaw(frozen);
  await rowState(page, demo.id, 'stopped');
  const stopped = await f.job(demo.id);
  assert.equal(stopped.stop.reason, 'maintenance');
  assert.match(stopped.stop.comment, /storage firmware/);

  // A resume is refused while it is on, and the page says why.
  await page.getByRole('button', { name: 'Resume demo disk 0' }).click();
  const alert = page.locator('#alert');
  await alert.filter({ hasText: 'maintenance mode is on' }).waitFor();
  assert.match(await alert.textContent(), /Resuming demo disk 0 was refused: maintenance mode is on \(all: storage firmware\)/);
  await page.getByRole('button', { name: 'Dismiss' }).click();

  // Off, resuming what it stopped.
  await toggle.click();
  await dialog.getByText('Turning maintenance mode off').waitFor();
  assert.equal(await dialog.getByLabel('Resume the replications that this maintenance stopped').isChecked(), true);
  await dialog.getByRole('button', { name: 'Turn off' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await toggle.getAttribute('aria-checked'), 'false');
  await rowState(page, demo.id, 'replicating');

  // Switched elsewhere (the CLI, a schedule): the page hears it on /events.
  const put = await f.api('PUT', '/maintenance', { enabled: true, reason: 'from the CLI', scope: 'vma:local' });
  assert.equal(put.status, 200);
  await page.waitForSelector('#maintenance-switch[aria-checked="true"]');
  assert.match(await page.locator('#maintenance-status').textContent(), /on \(vma:local\): from the CLI/);
  assert.equal((await f.api('PUT', '/maintenance', { enabled: false })).status, 200);
  await page.waitForSelector('#maintenance-switch[aria-checked="false"]');
  assert.deepEqual(page.errors, []);
});
