// The Stop dialog: what will happen (the OMA's dry-run plan, asked again whenever a choice
// changes), the choice between keeping and deleting the volume, a comment and "force". It stops
// one replication, or several at once (the batch stop of the selected rows).
import { jobPath } from './api.js';
import { ConfirmDialog } from './confirm_dialog.js';
import { bytes } from './format.js';

const roles = [
  ['scheduler', 'Scheduler'],
  ['poller', 'Poller'],
  ['vma_process', 'Mover'],
  ['volume', 'Volume'],
];

function item(label, text) {
  const li = document.createElement('li');
  const strong = document.createElement('strong');
  strong.textContent = label;
  li.append(strong, `: ${text}`);
  return li;
}

/// The plan as sentences, from POST /replications/{id}/stop?dry_run=true.
function planNodes(plan) {
  const out = [];
  const head = document.createElement('p');
  head.textContent = plan.stop_in_progress
    ? `A stop (${plan.stop_in_progress}) is already in progress; this request joins it${plan.mode === 'force' ? ' and kills the mover at once' : ''}.`
    : `The replication ends as ${plan.final_state}${plan.final_state_if_copy_finishes_first ? ` (or ${plan.final_state_if_copy_finishes_first}, if the copy finishes first)` : ''}.`;
  out.push(head);
  const list = document.createElement('ol');
  for (const [key, label] of roles) {
    const p = (plan.participants || {})[key];
    if (!p) continue;
    let text = p.action;
    if (key === 'vma_process' && p.pid) text = `${text} (pid ${p.pid})${p.then ? `; then ${p.then}` : ''}`;
    if (key === 'volume') text = `${p.action === 'keep' ? 'kept' : 'deleted'}: ${p.detail}`;
    list.append(item(label, text));
  }
  out.push(list);
  if (plan.volumes === 'keep') {
    const kept = document.createElement('p');
    kept.textContent = `Kept: ${bytes(plan.bytes_kept)} that a resume does not copy again` +
      (plan.bytes_to_copy_on_resume !== null && plan.bytes_to_copy_on_resume !== undefined
        ? `; a resume copies the remaining ${bytes(plan.bytes_to_copy_on_resume)}.` : '.');
    out.push(kept);
  }
  return out;
}

export class StopDialog extends ConfirmDialog {
  constructor(api, { onStopped }) {
    super('stop');
    this.api = api;
    this.onStopped = onStopped;
    this.plan = document.getElementById('stop-plan');
    this.generation = 0;
    this.jobs = [];
    // Only the choices that change the plan ask for it again (a comment does not): a plan being
    // fetched disables the confirm button, and a blur of the comment must not swallow a click.
    this.form.addEventListener('change', (e) => {
      if (e.target.name === 'volumes' || e.target.name === 'force') this.choicesChanged();
    });
  }

  choices() {
    const f = this.form.elements;
    const body = { volumes: f.volumes.value, mode: f.force.checked ? 'force' : 'graceful' };
    const comment = f.comment.value.trim();
    if (comment) body.comment = comment;
    return body;
  }

  /// Opens for `jobs` (one or several). `force` and `volumes` preset a forced stop of a job
  /// that is already stopping, whose volume choice cannot change any more.
  open(jobs, { force = false, volumes = null } = {}) {
    this.jobs = jobs;
    const one = jobs.length === 1;
    const f = this.form.elements;
    this.form.reset();
    f.force.checked = force;
    if (volumes) f.volumes.value = volumes;
    for (const r of f.volumes) r.disabled = Boolean(volumes);
    document.getElementById('stop-title').textContent = one
      ? `Stop replication “${jobs[0].name}”` : `Stop ${jobs.length} replications`;
    const what = document.getElementById('stop-what');
    what.replaceChildren();
    if (one) {
      const j = jobs[0];
      what.textContent = `${j.name} (${j.id}) is ${j.state} on VMA ${j.vma}.`;
    } else {
      what.textContent = 'These replications stop, each on its own:';
      const ul = document.createElement('ul');
      for (const j of jobs) {
        const li = document.createElement('li');
        li.textContent = `${j.name} (${j.state}, VMA ${j.vma})`;
        ul.append(li);
      }
      what.append(ul);
    }
    this.show();
    this.choicesChanged();
  }

  choicesChanged() {
    const body = this.choices();
    const del = body.volumes === 'delete';
    document.getElementById('stop-delete-warning').hidden = !del;
    const n = this.jobs.length;
    this.confirm.textContent = (n === 1 ? 'Stop replication' : `Stop ${n} replications`) +
      (del ? ' and delete the volume' + (n === 1 ? '' : 's') : '');
    this.loadPlan(body);
  }

  async loadPlan(body) {
    const generation = ++this.generation;
    if (this.jobs.length !== 1) {
      const p = document.createElement('p');
      p.textContent = `Each job: the scheduler drops its triggers, the poller takes a last snapshot, the mover ${body.mode === 'force' ? 'is killed at once (SIGKILL)' : 'gets SIGTERM, finishes its writes and saves a checkpoint (SIGKILL after the grace period)'}, then the volume is ${body.volumes === 'keep' ? 'kept for a resume' : 'deleted'}.`;
      this.plan.replaceChildren(p);
      this.confirm.disabled = false;
      return;
    }
    this.confirm.disabled = true;
    this.plan.replaceChildren(Object.assign(document.createElement('p'), { className: 'muted', textContent: 'Asking the OMA for the plan…' }));
    try {
      const plan = await this.api.post(`${jobPath(this.jobs[0].id)}/stop?dry_run=true`, body);
      if (generation !== this.generation) return;
      this.plan.replaceChildren(...planNodes(plan));
      this.confirm.disabled = false;
    } catch (err) {
      if (generation !== this.generation) return;
      this.plan.replaceChildren();
      this.showError(err.plain ? err.plain('Planning the stop') : String(err));
    }
  }

  async send() {
    const body = this.choices();
    const ids = this.jobs.map((j) => j.id);
    const one = ids.length === 1;
    const r = await this.run(one ? `Stopping ${this.jobs[0].name}` : 'The batch stop', async () => {
      if (!one) return this.api.post('/replications/stop', { ids, ...body });
      await this.api.post(`${jobPath(ids[0])}/stop`, body);
      return { accepted: ids, rejected: [] };
    });
    if (r) this.onStopped(r.accepted || [], r.rejected || []);
  }
}
