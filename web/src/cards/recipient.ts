// The error reports' recipient, and the dialog that changes it.
import { ApiError, type EmailStatus } from '../api';
import { openDialog } from '../dialog';
import { h } from '../dom';
import { t } from '../i18n';
import { afterAction, view } from '../state';

// A plain local@domain, as the daemon wants it; the daemon still has the last word.
function validateAddress(v: string): string | null {
  return /^[^\s@<>()[\],;:\\"]+@[^\s@<>()[\],;:\\"]+\.[^\s@<>()[\],;:\\".]+$/.test(v)
    ? null
    : t('invalidAddress');
}

function askRecipient(): void {
  const s = view.status;
  const api = view.api;
  if (!s || !api) return;
  openDialog(
    {
      title: t('changeRecipientTitle'),
      text: t('changeRecipientText'),
      field: { label: t('newAddress'), value: s.report_to, validate: validateAddress },
      run: async (address) => {
        let after: EmailStatus;
        try {
          after = await api.changeReportTo(view.account, address);
        } catch (e) {
          // The daemon's 400 names the address's fault in English: said in the page's words.
          if (e instanceof ApiError && e.status === 400) throw new ApiError(400, e.code, e.message, 'address_refused');
          throw e;
        }
        view.notice = { kind: 'ok', text: t('recipientChanged', { address: after.report_to }) };
        await afterAction();
      },
    },
    'action-recipient',
  );
}

export function recipientRow(s: EmailStatus): HTMLElement {
  return h(
    'div',
    { className: 'recipient' },
    h('p', {}, `${t('reportTo')}: `, h('strong', { id: 'report-to' }, s.report_to)),
    h('button', { type: 'button', id: 'action-recipient', onclick: askRecipient }, t('changeRecipient')),
  );
}
