// The "New replication" dialog: a name, a source and the agent that reads it, chosen from the
// agents the OMA knows (GET /agents). The OMA checks everything; its refusal names the field at
// fault ("source: an NBD URI expected ..."), so the page shows it in plain words beside that
// field, and anything else (maintenance mode, the OMA away) above the buttons.
import { ConfirmDialog } from './confirm_dialog.js';
import { time } from './format.js';

const fields = ['name', 'source', 'vma'];
const nouns = { name: 'name', source: 'source', vma: 'agent' };

/// [field, the rest of the message] when the OMA's message names one of the form's fields.
function fieldOf(message) {
  const m = /^(name|source|vma): (.*)$/s.exec(message || '');
  return m ? [m[1], m[2]] : [null, message];
}

export class ReplicateDialog extends ConfirmDialog {
  /// `vmas()`: the agents the page's jobs name (if the OMA cannot list its agents);
  /// `onCreated(job)`: after the OMA took it.
  constructor(api, { vmas, onCreated }) {
    super('replicate');
    this.api = api;
    this.vmas = vmas;
    this.onCreated = onCreated;
    this.inputs = Object.fromEntries(fields.map((f) => [f, document.getElementById(`replicate-${f}`)]));
    this.errors = Object.fromEntries(fields.map((f) => [f, document.getElementById(`replicate-${f}-error`)]));
    this.vmaNote = document.getElementById('replicate-vma-note');
    for (const f of fields) this.inputs[f].addEventListener('input', () => this.clearField(f));
    // Enter in a field creates, as in any form; the form's first button is Cancel, which the
    // browser would otherwise press.
    this.form.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && e.target instanceof HTMLInputElement) {
        e.preventDefault();
        this.send();
      }
    });
  }

  async open() {
    const chosen = this.inputs.vma.value;
    this.form.reset();
    for (const f of fields) this.clearField(f);
    this.show();
    await this.loadAgents(chosen);
  }

  /// The agents, online ones first; the operator's last choice stays chosen where it can.
  async loadAgents(chosen) {
    const select = this.inputs.vma;
    select.replaceChildren(new Option('Asking the OMA…', ''));
    let agents;
    try {
      ({ agents } = await this.api.get('/agents'));
      this.vmaNote.textContent = '';
    } catch (err) {
      agents = this.vmas().map((id) => ({ id, online: null }));
      this.vmaNote.textContent = `The OMA did not list its agents (${err.plain ? err.plain('Reading the agents') : err}); these are the agents its replications name.`;
    }
    agents.sort((a, b) => Number(Boolean(b.online)) - Number(Boolean(a.online)) || a.id.localeCompare(b.id));
    if (!agents.length) {
      select.replaceChildren(new Option('(no agent known)', ''));
      this.vmaNote.textContent = 'No agent has reported to this OMA yet: start one (migratekit vma) and open this dialog again.';
      return;
    }
    select.replaceChildren(...agents.map((a) => new Option(describe(a), a.id)));
    if (agents.some((a) => a.id === chosen)) select.value = chosen;
  }

  clearField(f) {
    this.errors[f].hidden = true;
    this.errors[f].textContent = '';
    this.inputs[f].removeAttribute('aria-invalid');
  }

  showField(f, text) {
    this.errors[f].textContent = text;
    this.errors[f].hidden = false;
    this.inputs[f].setAttribute('aria-invalid', 'true');
    this.inputs[f].focus();
  }

  /// What is missing, said before asking the OMA: [field, text], or null.
  missing() {
    if (!this.inputs.name.value.trim()) return ['name', 'Give the replication a name, such as “web-01 disk 0”.'];
    if (!this.inputs.source.value.trim()) return ['source', 'Give the source: the NBD URI of the disk, as the agent reaches it.'];
    if (!this.inputs.vma.value) return ['vma', 'Choose the agent that reads the source.'];
    return null;
  }

  async send() {
    for (const f of fields) this.clearField(f);
    this.error.hidden = true;
    const gap = this.missing();
    if (gap) {
      this.showField(...gap);
      return;
    }
    const body = {
      name: this.inputs.name.value.trim(),
      source: this.inputs.source.value.trim(),
      vma: this.inputs.vma.value,
    };
    this.confirm.disabled = true;
    try {
      const job = await this.api.post('/replications', body);
      this.dialog.close('confirm');
      this.onCreated(job);
    } catch (err) {
      const [f, rest] = err.status === 400 ? fieldOf(err.message) : [null, null];
      if (f) this.showField(f, `The OMA refused this ${nouns[f]}: ${rest.replace(/\.?$/, '.')}`);
      else this.showError(err.plain ? err.plain(`Creating “${body.name}”`) : String(err));
    } finally {
      this.confirm.disabled = false;
    }
  }
}

function describe(agent) {
  if (agent.online === null) return agent.id;
  const where = agent.host ? ` on ${agent.host}` : '';
  if (agent.online) return `${agent.id}${where} (online)`;
  return `${agent.id}${where} (offline${agent.last_hello ? `, last heard ${time(agent.last_hello)}` : ', never heard from'})`;
}
