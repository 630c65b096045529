// Block sending, Purge e-mails, Unblock sending: each behind a Confirm dialog. Which of them
// apply, and why the others do not, is the daemon's answer (`actions` of the status): the
// panel keeps no copy of the rules, it only words the refusal in the page's language. A button
// that does not apply stays reachable by Tab (aria-disabled), its hint its description.
import type { Action, ActionAvailability, EmailStatus } from '../api';
import { openDialog } from '../dialog';
import { h } from '../dom';
import { formatHold, refusalText, t, tn, type Key } from '../i18n';
import { afterAction, redraw, view } from '../state';
import { recipientRow } from './recipient';

/** Why the action does not apply, in the page's language; null when it does. */
function hint(a: ActionAvailability): string | null {
  return a.allowed ? null : refusalText(a.reason, a.message ?? t('hintNotAllowed'));
}

const kConfirmation: Record<Action, Key> = {
  BLOCK: 'msgBlock',
  UNBLOCK: 'msgUnblock',
  PURGE: 'msgPurge',
};

/** What the action's dialog says will happen, by what is held now. */
function question(action: Action, s: EmailStatus): [string, string] {
  const hold = formatHold(s.hold_seconds ?? 72 * 3600);
  switch (action) {
    case 'BLOCK':
      return [t('confirmBlockTitle'), t('confirmBlockText', { hold })];
    case 'PURGE':
      return [t('confirmPurgeTitle'), s.held > 0 ? tn('confirmPurgeText', s.held) : t('confirmPurgeNone')];
    case 'UNBLOCK':
      return [t('confirmUnblockTitle'), s.held > 0 ? tn('confirmUnblockText', s.held) : t('confirmUnblockNone')];
  }
}

function askAction(action: Action): void {
  const s = view.status;
  const api = view.api;
  if (!s || !api || !s.actions[action].allowed) return;
  const [title, text] = question(action, s);
  openDialog(
    {
      title,
      text,
      destructive: action === 'PURGE' && s.held > 0,
      run: async () => {
        const after = await api.request(view.account, action);
        view.notice = { kind: 'ok', text: t(kConfirmation[action], { hold: formatHold(after.hold_seconds ?? 72 * 3600) }) };
        view.status = after;
        if (after.state === 'purging') view.wasPurging = true;
        redraw();
        await afterAction();
      },
    },
    `action-${action.toLowerCase()}`,
  );
}

/** A button that is always focusable: aria-disabled when it does not apply, with `why` as its
 * description (its hint shown below it). */
export function actionButton(id: string, label: string, cls: string, why: string | null, run: () => void): HTMLElement {
  return h(
    'div',
    { className: 'action' },
    h(
      'button',
      {
        type: 'button',
        id,
        className: cls,
        'aria-disabled': why ? 'true' : null,
        'aria-describedby': why ? `${id}-hint` : null,
        onclick: () => {
          if (!why) run();
        },
      },
      label,
    ),
    why ? h('p', { id: `${id}-hint`, className: 'hint' }, why) : null,
  );
}

export function actionsCard(s: EmailStatus): HTMLElement {
  const button = (action: Action, label: Key, cls: string) =>
    actionButton(`action-${action.toLowerCase()}`, t(label), cls, hint(s.actions[action]), () => askAction(action));
  return h(
    'section',
    { className: 'card', id: 'actions-card', 'aria-labelledby': 'actions-heading' },
    h('h2', { id: 'actions-heading' }, t('actions')),
    h(
      'div',
      { className: 'actions' },
      button('BLOCK', 'block', 'danger'),
      button('PURGE', 'purge', 'danger'),
      button('UNBLOCK', 'unblock', 'primary'),
    ),
    recipientRow(s),
  );
}
