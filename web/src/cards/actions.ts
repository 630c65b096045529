// Block sending, Purge e-mails, Unblock sending: each behind a Confirm dialog. Which of them
// apply, and why the others do not, is the daemon's answer (`actions` of the status): the
// panel keeps no copy of the rules, it only words the refusal in the page's language.
import type { Action, ActionAvailability, EmailStatus } from '../api';
import { openDialog } from '../dialog';
import { h } from '../dom';
import { formatNumber, lang, refusalText, t, type Key } from '../i18n';
import { redraw, refresh, view } from '../state';
import { recipientRow } from './recipient';

/** Why the action does not apply, in the page's language; null when it does. */
function hint(a: ActionAvailability): string | null {
  return a.allowed ? null : refusalText(a.reason, a.message ?? '');
}

const kConfirmation: Record<Action, Key> = {
  BLOCK: 'msgBlock',
  UNBLOCK: 'msgUnblock',
  PURGE: 'msgPurge',
};

const kQuestions: Record<Action, [Key, Key]> = {
  BLOCK: ['confirmBlockTitle', 'confirmBlockText'],
  PURGE: ['confirmPurgeTitle', 'confirmPurgeText'],
  UNBLOCK: ['confirmUnblockTitle', 'confirmUnblockText'],
};

function askAction(action: Action): void {
  const s = view.status;
  const api = view.api;
  if (!s || !api) return;
  const [title, text] = kQuestions[action];
  openDialog(
    {
      title: t(title),
      text: t(text, { held: formatNumber(s.held) }),
      run: async () => {
        const after = await api.request(view.account, action);
        view.notice = {
          kind: 'ok',
          text: lang === 'en' && after.message ? after.message : t(kConfirmation[action]),
        };
        view.status = after;
        // A purge is followed by polling (the page schedules it): the page shows "Purging"
        // until the daemon says it has ended.
        if (after.state === 'purging') redraw();
        else await refresh();
      },
    },
    `action-${action.toLowerCase()}`,
  );
}

export function actionsCard(s: EmailStatus): HTMLElement {
  const button = (action: Action, label: Key, cls: string) => {
    const why = hint(s.actions[action]);
    const id = `action-${action.toLowerCase()}`;
    return h(
      'div',
      { className: 'action' },
      h(
        'button',
        {
          type: 'button',
          id,
          className: cls,
          disabled: !s.actions[action].allowed,
          'aria-describedby': why ? `${id}-hint` : null,
          onclick: () => askAction(action),
        },
        t(label),
      ),
      why ? h('p', { id: `${id}-hint`, className: 'hint' }, why) : null,
    );
  };
  return h(
    'section',
    { className: 'card', 'aria-labelledby': 'actions-heading' },
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
