// The maintenance-mode switch (docs/operations.md): turning it on stops every replication in scope,
// gracefully and with volumes kept, and refuses new ones; turning it off may resume them.
// An OMA without the endpoint leaves the switch off and says so.
import { ConfirmDialog } from './confirm_dialog.js';

export class Maintenance extends ConfirmDialog {
  constructor(api, { vmas }) {
    super('maintenance');
    this.api = api;
    this.vmas = vmas;  // () => the VMA ids the page knows of, for the scope list
    this.state = null;
    this.button = document.getElementById('maintenance-switch');
    this.status = document.getElementById('maintenance-status');
    this.button.addEventListener('click', () => this.open());
  }

  async load() {
    try {
      this.showState(await this.api.get('/maintenance'));
    } catch (err) {
      this.state = null;
      this.button.disabled = true;
      this.button.setAttribute('aria-checked', 'false');
      this.status.textContent = err.status === 404
        ? 'not offered by this OMA'
        : (err.plain ? err.plain('Reading the maintenance mode') : String(err));
    }
  }

  showState(state) {
    this.state = state;
    const on = Boolean(state && state.enabled);
    this.button.disabled = false;
    this.button.setAttribute('aria-checked', String(on));
    document.body.classList.toggle('in-maintenance', on);
    // "on" or "off" is said once, here; a screen reader hears it from aria-checked, so the
    // word is hidden from it and the switch's description keeps only the scope and reason.
    const word = document.createElement('span');
    word.setAttribute('aria-hidden', 'true');
    word.textContent = on ? 'on' : 'off';
    this.status.replaceChildren(word,
      on ? ` (${state.scope || 'all'})${state.reason ? `: ${state.reason}` : ''}` : '');
  }

  open() {
    const on = Boolean(this.state && this.state.enabled);
    this.form.reset();
    document.getElementById('maintenance-on-fields').hidden = on;
    document.getElementById('maintenance-resume-field').hidden = !on;
    const scope = document.getElementById('maintenance-scope');
    scope.replaceChildren(new Option('every VMA', 'all'),
      ...this.vmas().map((v) => new Option(`VMA ${v} only`, `vma:${v}`)));
    document.getElementById('maintenance-what').textContent = on
      ? 'Turning maintenance mode off lets replications start and resume again.'
      : 'Every replication in scope stops gracefully, its volume kept for a resume; new replications and resumes in scope are refused until maintenance mode is turned off.';
    this.confirm.textContent = on ? 'Turn off' : 'Turn on';
    this.show();
  }

  async send() {
    const on = Boolean(this.state && this.state.enabled);
    const f = this.form.elements;
    const body = on
      ? { enabled: false, resume_after: f.resume_after.checked }
      : { enabled: true, reason: f.reason.value.trim(), scope: f.scope.value,
          max_parallel: Number(f.max_parallel.value) };
    if (!on && !body.reason) {
      this.showError('Say why, in a few words: the reason is kept in every JobLog it touches.');
      return;
    }
    const state = await this.run(`Turning maintenance mode ${on ? 'off' : 'on'}`,
      () => this.api.put('/maintenance', body));
    if (state) this.showState(state);
  }
}
