// What the page's dialogs share: a <dialog> holding a <form method="dialog"> whose Cancel
// button (and Escape) closes it, and whose confirm button runs an action that may be refused.
// A refusal is shown inside the dialog, which stays open.
// The elements are found by name: NAME-dialog, NAME-form, NAME-error and NAME-confirm.

export class ConfirmDialog {
  constructor(name) {
    this.dialog = document.getElementById(`${name}-dialog`);
    this.form = document.getElementById(`${name}-form`);
    this.error = document.getElementById(`${name}-error`);
    this.confirm = document.getElementById(`${name}-confirm`);
    this.form.addEventListener('submit', (e) => {
      if (e.submitter && e.submitter.value === 'confirm') {
        e.preventDefault();
        this.send();
      }
    });
  }

  show() {
    this.error.hidden = true;
    this.confirm.disabled = false;
    this.dialog.showModal();
  }

  showError(text) {
    this.error.textContent = text;
    this.error.hidden = false;
  }

  /// Runs `action` (`what` names it in an error); closes the dialog once it succeeded.
  async run(what, action) {
    this.confirm.disabled = true;
    this.error.hidden = true;
    try {
      const result = await action();
      this.dialog.close('confirm');
      return result;
    } catch (err) {
      this.showError(err.plain ? err.plain(what) : String(err));
      this.confirm.disabled = false;
      return undefined;
    }
  }
}
