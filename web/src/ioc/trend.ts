import type { EChartsCoreOption } from 'echarts/core'
import { onBeforeUnmount, onMounted, shallowRef, watch } from 'vue'
import { apiFetch } from '../shared/api'
import { CHART_COLOURS, stagePixels } from './chartTheme'
import type { KpiRegion } from './kpis'

/** Cases reported and closed and alarms raised per Shanghai day (`GET /api/v1/ioc/trend`). */
export const TREND_PATH = '/api/v1/ioc/trend'
export const TREND_DAYS = 30
// Whole days on a month's scale: a minute's delay on today's figures goes unnoticed.
export const TREND_REFRESH_MS = 60_000

export interface TrendDay {
  /** `YYYY-MM-DD`, a Shanghai day */
  day: string
  reported: number
  closed: number
  alarms: number
}

export interface Trend {
  region: KpiRegion
  days: TrendDay[]
}

export function fetchTrend(region?: string, days = TREND_DAYS): Promise<Trend> {
  const search = new URLSearchParams({ days: String(days) })
  if (region) search.set('region', region)
  return apiFetch<Trend>(`${TREND_PATH}?${search.toString()}`)
}

export interface TrendOptions {
  /** The region (a code), read again at once when it changes; absent: the viewer's default. */
  region: () => string | null | undefined
  refreshMs?: number
}

/** The trend of a region, read every `refreshMs`; a new region drops the last one's at once. */
export function useTrend(options: TrendOptions) {
  const trend = shallowRef<Trend | null>(null)
  const error = shallowRef<unknown>(null)
  let interval: ReturnType<typeof setInterval> | undefined
  const region = (): string | undefined => options.region() || undefined

  async function refresh(): Promise<void> {
    const asked = region()
    try {
      const read = await fetchTrend(asked)
      if (asked !== region()) return
      trend.value = read
      error.value = null
    } catch (cause) {
      if (asked !== region()) return
      error.value = cause
    }
  }

  onMounted(() => {
    void refresh()
    interval = setInterval(() => void refresh(), options.refreshMs ?? TREND_REFRESH_MS)
  })
  watch(region, () => {
    trend.value = null
    error.value = null
    void refresh()
  })
  onBeforeUnmount(() => clearInterval(interval))

  return { trend, error, refresh }
}

export interface TrendLabels {
  reported: string
  closed: string
  alarms: string
  cases: string
}

/** Lines for cases reported and closed, bars for alarms raised (their own axis, on the right). */
export function trendOption(days: readonly TrendDay[], labels: TrendLabels, rem = 16): EChartsCoreOption {
  const px = stagePixels(rem)
  const text = { color: CHART_COLOURS.text, fontSize: px(0.75) }
  const valueAxis = (name: string, position: 'left' | 'right') => ({
    type: 'value',
    name,
    position,
    minInterval: 1,
    nameTextStyle: text,
    axisLabel: text,
    splitLine: { show: position === 'left', lineStyle: { color: CHART_COLOURS.grid } },
  })
  const line = (name: string, colour: string, data: number[]) => ({
    name,
    type: 'line',
    yAxisIndex: 0,
    data,
    symbol: 'circle',
    symbolSize: px(0.3),
    lineStyle: { width: px(0.14), color: colour },
    itemStyle: { color: colour },
  })
  return {
    backgroundColor: 'transparent',
    animation: false,
    textStyle: { fontFamily: 'inherit' },
    grid: { left: px(0.5), right: px(0.5), top: px(2.4), bottom: px(0.3), containLabel: true },
    legend: { top: 0, right: 0, itemWidth: px(1), itemHeight: px(0.5), textStyle: { color: CHART_COLOURS.strong, fontSize: px(0.8) } },
    tooltip: {
      trigger: 'axis',
      backgroundColor: CHART_COLOURS.tooltip,
      borderColor: CHART_COLOURS.accent,
      textStyle: { color: CHART_COLOURS.strong, fontSize: px(0.8) },
    },
    xAxis: {
      type: 'category',
      data: days.map((item) => item.day.slice(5)),
      axisLabel: text,
      axisLine: { lineStyle: { color: CHART_COLOURS.axis } },
      axisTick: { show: false },
    },
    yAxis: [valueAxis(labels.cases, 'left'), valueAxis(labels.alarms, 'right')],
    series: [
      {
        name: labels.alarms,
        type: 'bar',
        yAxisIndex: 1,
        data: days.map((item) => item.alarms),
        barMaxWidth: px(0.6),
        itemStyle: { color: CHART_COLOURS.alarms, opacity: 0.75 },
      },
      line(labels.reported, CHART_COLOURS.reported, days.map((item) => item.reported)),
      line(labels.closed, CHART_COLOURS.closed, days.map((item) => item.closed)),
    ],
  }
}
