// The "Add schedule" form: a one-shot action at a time given in the operator's local time (sent
// as UTC), or a daily replication window given in UTC, as the OMA keeps it. The OMA checks
// everything (its clock decides what is in the past); the page only asks for what is missing,
// naming the field as the OMA does. Refusals are shown in the form, in plain words.
import { localToUtc, utc } from './format.js';

const hints = {
  stop: 'Stops the replications in scope gracefully, their volumes kept for a resume.',
  resume: 'Resumes the replications in scope that are stopped and resumable.',
  maintenance_on: 'Turns maintenance mode on: replications in scope stop, new ones and resumes are refused.',
  maintenance_off: 'Turns maintenance mode off.',
  window: 'Outside the window the replications in scope are stopped (volumes kept) and resumed when it opens. Times of day in UTC; a window may cross midnight.',
};

const $ = (name) => document.getElementById(`schedule-${name}`);

export class ScheduleForm {
  /// `vmas()`: the agents the page knows of; `onAdded(schedule)`: after the OMA took one.
  constructor(api, { vmas, onAdded }) {
    this.api = api;
    this.vmas = vmas;
    this.onAdded = onAdded;
    this.form = $('form');
    this.error = $('error');
    this.added = $('added');
    this.submit = $('add');
    for (const name of ['kind', 'action', 'target', 'vma', 'job', 'at', 'from', 'to']) this[name] = $(name);
    for (const select of [this.kind, this.action, this.target]) select.addEventListener('change', () => this.sync());
    this.at.addEventListener('input', () => this.showAtUtc());
    this.vma.addEventListener('focus', () => this.fillVmas());
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();  // the page sends it itself (and the CSP allows no form action)
      this.send();
    });
    this.fillJobs([]);
    this.sync();
  }

  /// Shows the fields that the kind, the action and the target ask for.
  sync() {
    const kind = this.kind.value;
    for (const field of this.form.querySelectorAll('[data-for]')) field.hidden = field.dataset.for !== kind;
    // Maintenance mode is per agent or everywhere, never per job.
    const maintenance = kind === 'once' && this.action.value.startsWith('maintenance_');
    this.target.querySelector('option[value="job"]').disabled = maintenance;
    if (maintenance && this.target.value === 'job') this.target.value = 'all';
    $('vma-field').hidden = this.target.value !== 'vma';
    $('job-field').hidden = this.target.value !== 'job';
    $('hint').textContent = hints[kind === 'window' ? 'window' : this.action.value];
    this.showAtUtc();
  }

  showAtUtc() {
    const at = localToUtc(this.at.value);
    $('at-utc').textContent = at ? `that is ${utc(at)}` : '';
  }

  fillVmas() {
    $('vmas').replaceChildren(...this.vmas().map((v) => new Option('', v)));
  }

  /// The job list, newest first, keeping the operator's choice where that job is still there.
  fillJobs(jobs) {
    const chosen = this.job.value;
    this.job.replaceChildren(...(jobs.length
      ? jobs.map((j) => new Option(`${j.name} (${j.id})`, j.id))
      : [new Option('(no jobs to choose)', '')]));
    if (chosen && jobs.some((j) => j.id === chosen)) this.job.value = chosen;
  }

  /// The request body, or [what is missing, the field to fix].
  body() {
    let target = { all: true };
    if (this.target.value === 'vma') {
      const vma = this.vma.value.trim();
      if (!vma) return ['Type the id of the agent (VMA).', this.vma];
      target = { vma };
    } else if (this.target.value === 'job') {
      if (!this.job.value) return ['Choose the replication.', this.job];
      target = { job: this.job.value };
    }
    if (this.kind.value === 'window') {
      if (!this.from.value) return ['Choose the time of day the window opens (UTC).', this.from];
      if (!this.to.value) return ['Choose the time of day the window closes (UTC).', this.to];
      return { target, window: { from: this.from.value, to: this.to.value } };
    }
    const at = localToUtc(this.at.value);
    if (!at) return ['Choose the date and the time of day (your local time).', this.at];
    return { action: this.action.value, target, at };
  }

  async send() {
    this.error.hidden = true;
    this.added.textContent = '';
    const body = this.body();
    if (Array.isArray(body)) {
      this.showError(body[0]);
      body[1].focus();
      return;
    }
    this.submit.disabled = true;
    try {
      const s = await this.api.post('/schedules', body);
      this.form.reset();
      this.sync();
      this.added.textContent = `Added schedule ${s.id}.`;
      this.onAdded(s);
    } catch (err) {
      this.showError(err.plain ? err.plain('Adding the schedule') : String(err));
    } finally {
      this.submit.disabled = false;
    }
  }

  showError(text) {
    this.error.textContent = text;
    this.error.hidden = false;
  }
}
