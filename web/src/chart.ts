import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  Tooltip,
} from 'chart.js';

import type { Volume } from './api';
import { lang, t } from './i18n';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export const kSentColour = '#2f6fbf';
export const kErrorColour = '#c4372f';

function dayKey(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Thirty days ending today, with zero for the days the API has no row for. */
function series(items: Volume[]): { labels: string[]; sent: number[]; errors: number[] } {
  const byDay = new Map(items.map((v) => [v.day, v]));
  const labels: string[] = [];
  const sent: number[] = [];
  const errors: number[] = [];
  const today = new Date();
  const fmt = new Intl.DateTimeFormat(lang === 'pl' ? 'pl-PL' : 'en-GB', {
    day: 'numeric',
    month: 'short',
  });
  for (let i = 29; i >= 0; --i) {
    const d = new Date(today.getFullYear(), today.getMonth(), today.getDate() - i);
    const v = byDay.get(dayKey(d));
    labels.push(fmt.format(d));
    sent.push(v?.sent ?? 0);
    errors.push(v?.errors ?? 0);
  }
  return { labels, sent, errors };
}

export class VolumeChart {
  private chart: Chart | null = null;

  constructor(private readonly canvas: HTMLCanvasElement) {}

  show(items: Volume[]): void {
    const { labels, sent, errors } = series(items);
    const summary = `${t('chartSent')}: ${sent.reduce((a, b) => a + b, 0)}, ${t('chartErrors')}: ${errors.reduce((a, b) => a + b, 0)}`;
    this.canvas.setAttribute('aria-label', `${t('chartTitle')}. ${summary}`);
    this.chart?.destroy();
    this.chart = new Chart(this.canvas, {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { label: t('chartSent'), data: sent, backgroundColor: kSentColour },
          { label: t('chartErrors'), data: errors, backgroundColor: kErrorColour },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { ticks: { maxRotation: 0, autoSkipPadding: 8 }, grid: { display: false } },
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: 'bottom' } },
      },
    });
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = null;
  }
}
