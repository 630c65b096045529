// The signed-in page: the account (a picker for the administrator), the last notice, and the
// cards of the chosen account.
import { actionsCard } from './cards/actions';
import { countersCard } from './cards/counters';
import { errorsCard } from './cards/errors';
import { heldCard } from './cards/held';
import { limitsCard } from './cards/limits';
import { sourcesCard } from './cards/sources';
import { statusCard } from './cards/status';
import { chartCard, showChart } from './cards/volumes';
import { dialogOpen } from './dialog';
import { h, showPage } from './dom';
import { header } from './header';
import { lang, t } from './i18n';
import { rememberAccount, signOut } from './session';
import { describe, redraw, refresh, schedulePoll, stopPolling, view } from './state';

function accountPicker(): HTMLElement {
  if (!view.admin) {
    return h('p', { className: 'account' }, `${t('account')}: `, h('strong', { id: 'account-name' }, view.account));
  }
  const select = h(
    'select',
    {
      id: 'account',
      onchange: async (ev: Event) => {
        view.account = (ev.target as HTMLSelectElement).value;
        rememberAccount(view.account);
        view.notice = null;
        view.chosen.clear();
        stopPolling();
        try {
          await refresh();
        } catch (e) {
          view.notice = { kind: 'error', text: describe(e) };
          redraw();
        }
        document.getElementById('account')?.focus();
      },
    },
    view.accounts.map((a) => h('option', { value: a, selected: a === view.account }, a)),
  );
  return h('p', { className: 'account' }, h('label', { for: 'account' }, `${t('account')}: `), select);
}

function notice(): HTMLElement {
  if (!view.notice) return h('p', { id: 'notice', className: 'notice-empty', role: 'status', tabindex: -1 });
  return h(
    'p',
    {
      id: 'notice',
      className: `notice notice-${view.notice.kind}`,
      role: view.notice.kind === 'error' ? 'alert' : 'status',
      tabindex: -1,
    },
    view.notice.text,
  );
}

/** Draws the page from `view`, keeping the focus where it was. */
export function renderPage(): void {
  document.documentElement.lang = lang;
  const focused = document.activeElement?.id;
  const s = view.status;
  const main = h('main', {}, accountPicker(), notice());
  const shown = s !== null && s.account === view.account;
  if (shown) {
    main.append(
      h('div', { className: 'grid' }, statusCard(s), actionsCard(s)),
      countersCard(s),
      limitsCard(s),
      heldCard(s) ?? '',
      sourcesCard(view.sources) ?? '',
      chartCard(),
      errorsCard(view.errors),
    );
  }
  showPage(header(() => signOut()), main);
  if (s) showChart(view.volumes);
  if (focused && !dialogOpen()) {
    const again = document.getElementById(focused) as HTMLButtonElement | null;
    if (again && !again.disabled) again.focus();
  }
  schedulePoll();
}
