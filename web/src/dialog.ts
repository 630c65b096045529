// The one modal dialog: a Confirm dialog (with an optional address field) before each action,
// and a read-only one for a held e-mail's headers. Focus goes back to the button that opened it.
import { h } from './dom';
import { t } from './i18n';
import { afterAction, describe, signedOut } from './state';

export interface DialogSpec {
  title: string;
  text: string;
  /** A field to fill in: an address (the default) or a line of text. */
  field?: { label: string; value: string; type?: 'email' | 'text'; validate: (v: string) => string | null };
  run: (value: string) => Promise<void>;
  /** A step that deletes or sends mail: the dialog opens on Cancel, so that Enter pressed
   * twice does not confirm it. */
  destructive?: boolean;
}

const dialog = h('dialog', { id: 'dialog', 'aria-labelledby': 'dialog-title' });
document.body.append(dialog);
let returnFocus: string | null = null;

dialog.addEventListener('close', () => {
  const target = returnFocus ? document.getElementById(returnFocus) : null;
  returnFocus = null;
  if (target) target.focus();
  else (document.getElementById('notice') ?? document.getElementById('main'))?.focus();
});

export function dialogOpen(): boolean {
  return dialog.open;
}

export function closeDialog(): void {
  if (dialog.open) dialog.close();
}

function show(form: HTMLFormElement, focus: HTMLElement, returnTo: string): void {
  returnFocus = returnTo;
  dialog.replaceChildren(form);
  dialog.setAttribute('aria-describedby', 'dialog-text');
  dialog.showModal();
  focus.focus();
}

/** Asks to confirm; on Confirm runs spec.run, and shows its refusal in the dialog if it fails. */
export function openDialog(spec: DialogSpec, returnTo: string): void {
  const error = h('p', { id: 'dialog-error', className: 'dialog-error', role: 'alert' });
  const text = spec.field?.type === 'text';
  const input = spec.field
    ? h('input', {
        id: 'dialog-input',
        type: text ? 'text' : 'email',
        inputmode: text ? null : 'email',
        autocomplete: text ? 'off' : 'email',
        maxlength: text ? 500 : null,
        spellcheck: 'false',
        value: spec.field.value,
        'aria-describedby': 'dialog-error',
      })
    : null;
  const confirm = h('button', { type: 'submit', id: 'dialog-confirm', className: 'primary' }, t('confirm'));
  const cancel = h(
    'button',
    { type: 'button', id: 'dialog-cancel', onclick: () => dialog.close() },
    t('cancel'),
  );
  const form = h(
    'form',
    { method: 'dialog', novalidate: true },
    h('h2', { id: 'dialog-title' }, spec.title),
    h('p', { id: 'dialog-text' }, spec.text),
    spec.field && input
      ? h('div', { className: 'field' }, h('label', { for: 'dialog-input' }, spec.field.label), input)
      : null,
    error,
    h('div', { className: 'dialog-buttons' }, cancel, confirm),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = input ? input.value.trim() : '';
    const invalid = spec.field ? spec.field.validate(value) : null;
    if (invalid) {
      error.textContent = invalid;
      input?.setAttribute('aria-invalid', 'true');
      input?.focus();
      return;
    }
    input?.removeAttribute('aria-invalid');
    error.textContent = '';
    confirm.disabled = true;
    confirm.textContent = t('loading');
    try {
      await spec.run(value);
      dialog.close();
    } catch (e) {
      if (signedOut(e)) return;
      error.textContent = describe(e);
      confirm.disabled = false;
      confirm.textContent = t('confirm');
      (input ?? cancel).focus();
      // A refusal means the page's state was not the daemon's: read it again.
      void afterAction();
    }
  });
  show(form, input ?? (spec.destructive ? cancel : confirm), returnTo);
}

/** Shows preformatted text (a held e-mail's headers) with a Close button. */
export function showText(title: string, subtitle: string, text: string, returnTo: string): void {
  const close = h('button', { type: 'submit', id: 'dialog-close', className: 'primary' }, t('close'));
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', { id: 'dialog-title' }, title),
    h('p', { id: 'dialog-text' }, subtitle),
    h('pre', { id: 'dialog-headers', className: 'headers', tabindex: 0 }, text),
    h('div', { className: 'dialog-buttons' }, close),
  );
  show(form, close, returnTo);
}
