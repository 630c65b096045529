// The 30-day chart of sent and failed e-mails, with the same figures as a table.
import type { Volume } from '../api';
import { series, VolumeChart } from '../chart';
import { h } from '../dom';
import { formatNumber, t } from '../i18n';

let chart: VolumeChart | null = null;

/** The card: a canvas (kept as it is across redraws; showChart() draws into it) and a table. */
export function chartCard(volumes: Volume[]): HTMLElement {
  const { labels, sent, errors } = series(volumes);
  const rows = labels
    .map((day, i) => ({ day, sent: sent[i], errors: errors[i] }))
    .filter((r) => r.sent > 0 || r.errors > 0)
    .reverse();
  return h(
    'section',
    { className: 'card chart-card', id: 'chart-card', 'aria-labelledby': 'chart-heading' },
    h('h2', { id: 'chart-heading' }, t('chartTitle')),
    // The table below says the same for a screen reader: the picture is not read out.
    h('div', { className: 'chart-box', 'aria-hidden': 'true' }, h('canvas', { id: 'chart', 'data-keep': true })),
    h(
      'details',
      { id: 'chart-details' },
      h('summary', {}, t('chartTable')),
      rows.length
        ? h(
            'table',
            { id: 'chart-table' },
            h('caption', { className: 'visually-hidden' }, t('chartTitle')),
            h(
              'thead',
              {},
              h('tr', {}, h('th', { scope: 'col' }, t('day')), h('th', { scope: 'col', className: 'num' }, t('chartSent')), h('th', { scope: 'col', className: 'num' }, t('chartErrors'))),
            ),
            h(
              'tbody',
              {},
              rows.map((r) =>
                h('tr', {}, h('th', { scope: 'row' }, r.day), h('td', { className: 'num' }, formatNumber(r.sent)), h('td', { className: 'num' }, formatNumber(r.errors))),
              ),
            ),
          )
        : h('p', { className: 'empty' }, t('noVolumes')),
    ),
  );
}

/** Draws the figures into the card's canvas: updated in place when the chart is there. */
export function showChart(volumes: Volume[]): void {
  const canvas = document.getElementById('chart') as HTMLCanvasElement | null;
  if (!canvas) return;
  if (!chart || !chart.drawsOn(canvas)) {
    chart?.destroy();
    chart = new VolumeChart(canvas);
  }
  chart.show(volumes);
}

export function dropChart(): void {
  chart?.destroy();
  chart = null;
}
