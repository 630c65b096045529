// The 30-day chart of sent and failed e-mails.
import type { Volume } from '../api';
import { VolumeChart } from '../chart';
import { h } from '../dom';
import { t } from '../i18n';

let chart: VolumeChart | null = null;

/** The card with an empty canvas; showChart() draws into it once the card is in the page. */
export function chartCard(): HTMLElement {
  const canvas = h('canvas', { id: 'chart', role: 'img' });
  const card = h(
    'section',
    { className: 'card chart-card', 'aria-labelledby': 'chart-heading' },
    h('h2', { id: 'chart-heading' }, t('chartTitle')),
    h('div', { className: 'chart-box' }, canvas),
  );
  chart?.destroy();
  chart = new VolumeChart(canvas);
  return card;
}

export function showChart(volumes: Volume[]): void {
  chart?.show(volumes);
}

export function dropChart(): void {
  chart?.destroy();
  chart = null;
}
