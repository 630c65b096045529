import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

import type { Volume } from './api';
import { lang, t } from './i18n';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Legend, Tooltip);

// Told apart by more than hue: light bars for sent, a dark line with triangles for failed, on
// its own scale (right), so that a few failures beside many sent e-mails still show.
export const kSentColour = '#9cc3ec';
export const kErrorColour = '#8f1e18';

function dayKey(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Thirty days ending today, with zero for the days the API has no row for. */
export function series(items: Volume[]): { labels: string[]; sent: number[]; errors: number[] } {
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

  drawsOn(canvas: HTMLCanvasElement): boolean {
    return canvas === this.canvas && this.chart !== null;
  }

  show(items: Volume[]): void {
    const { labels, sent, errors } = series(items);
    if (this.chart) {
      // In place: the same chart, new figures and words.
      this.chart.data.labels = labels;
      this.chart.data.datasets[0].data = sent;
      this.chart.data.datasets[0].label = t('chartSent');
      this.chart.data.datasets[1].data = errors;
      this.chart.data.datasets[1].label = t('chartErrors');
      this.chart.update('none');
      return;
    }
    this.chart = new Chart(this.canvas, {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { label: t('chartSent'), data: sent, backgroundColor: kSentColour, borderColor: '#2f6fbf', borderWidth: 1, yAxisID: 'y' },
          {
            type: 'line',
            label: t('chartErrors'),
            data: errors,
            borderColor: kErrorColour,
            backgroundColor: kErrorColour,
            pointStyle: 'triangle',
            // A triangle only where something failed: the line at zero says the rest.
            pointRadius: (c) => ((c.raw as number) > 0 ? 5 : 0),
            borderWidth: 2,
            yAxisID: 'y1',
          },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { ticks: { maxRotation: 0, autoSkipPadding: 8 }, grid: { display: false } },
          y: { beginAtZero: true, ticks: { precision: 0 }, position: 'left' },
          y1: {
            beginAtZero: true,
            ticks: { precision: 0, color: kErrorColour },
            position: 'right',
            grid: { display: false },
            suggestedMax: 5,
          },
        },
        plugins: { legend: { position: 'bottom', labels: { usePointStyle: true } } },
      },
    });
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = null;
  }
}
