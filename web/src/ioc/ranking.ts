import type { EChartsCoreOption } from 'echarts/core'
import { onBeforeUnmount, onMounted, shallowRef } from 'vue'
import { cityToday, loadEvaluation, type Evaluation } from '../workbench/evaluation/evaluation'
import { CHART_COLOURS, stagePixels } from './chartTheme'

/** The subdistricts ranked by composite score over last month (`GET /api/v1/cases/evaluation`). */
export const EVALUATE = 'cases.evaluate'
// Last month's figures hardly move: ask now and then, and see the month turn.
export const RANKING_REFRESH_MS = 30 * 60_000

/** The calendar month before today's in Beijing time, as `YYYY-MM`. */
export function lastMonth(now: Date = new Date()): string {
  const today = cityToday(now)
  const year = Number(today.slice(0, 4))
  const month = Number(today.slice(5, 7))
  return month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, '0')}`
}

export interface RankedSubdistrict {
  code: string
  name: string
  rank: number
  score: number
}

/** The ranked subdistricts, best first; those with no score or no subdistrict are left out. */
export function rankedSubdistricts(evaluation: Evaluation, locale: string): RankedSubdistrict[] {
  const zh = locale.startsWith('zh')
  const ranked: RankedSubdistrict[] = []
  for (const row of evaluation.rows) {
    if (row.key === null || row.rank === null || row.composite === null) continue
    ranked.push({ code: row.key, name: (zh ? row.name_zh : row.name_en) || row.name_zh, rank: row.rank, score: row.composite })
  }
  return ranked.sort((a, b) => a.rank - b.rank || b.score - a.score)
}

/** Horizontal bars, best on top; the subdistrict drilled into stands out. */
export function rankingOption(ranked: readonly RankedSubdistrict[], drilled: string | null, rem = 16): EChartsCoreOption {
  const px = stagePixels(rem)
  const text = { color: CHART_COLOURS.text, fontSize: px(0.75) }
  return {
    backgroundColor: 'transparent',
    animation: false,
    textStyle: { fontFamily: 'inherit' },
    grid: { left: px(0.3), right: px(2.8), top: px(0.3), bottom: px(0.3), containLabel: true },
    tooltip: {
      trigger: 'item',
      backgroundColor: CHART_COLOURS.tooltip,
      borderColor: CHART_COLOURS.accent,
      textStyle: { color: CHART_COLOURS.strong, fontSize: px(0.8) },
    },
    xAxis: { type: 'value', min: 0, max: 100, axisLabel: { show: false }, splitLine: { lineStyle: { color: CHART_COLOURS.grid } } },
    yAxis: {
      type: 'category',
      inverse: true,
      data: ranked.map((item) => item.name),
      axisLabel: { color: CHART_COLOURS.strong, fontSize: px(0.8) },
      axisLine: { lineStyle: { color: CHART_COLOURS.axis } },
      axisTick: { show: false },
    },
    series: [
      {
        type: 'bar',
        data: ranked.map((item) => ({
          value: Math.round(item.score * 100) / 100,
          itemStyle: { color: item.code === drilled ? CHART_COLOURS.drilled : CHART_COLOURS.bar },
        })),
        barMaxWidth: px(0.8),
        label: { show: true, position: 'right', ...text, color: CHART_COLOURS.strong },
      },
    ],
  }
}

export interface RankingOptions {
  refreshMs?: number
}

/** Last month's evaluation by subdistrict, read on mount and every `refreshMs` (the month turns). */
export function useRanking(options: RankingOptions = {}) {
  const evaluation = shallowRef<Evaluation | null>(null)
  const error = shallowRef<unknown>(null)
  let interval: ReturnType<typeof setInterval> | undefined

  async function refresh(): Promise<void> {
    try {
      evaluation.value = await loadEvaluation({ period: lastMonth(), by: 'subdistrict', includeSynthetic: true })
      error.value = null
    } catch (cause) {
      error.value = cause
    }
  }

  onMounted(() => {
    void refresh()
    interval = setInterval(() => void refresh(), options.refreshMs ?? RANKING_REFRESH_MS)
  })
  onBeforeUnmount(() => clearInterval(interval))

  return { evaluation, error, refresh }
}
