import type { EChartsCoreOption } from 'echarts/core'

/** What a chart on the screen was given, in place of ECharts (no canvas in happy-dom). */
export interface FakeChart {
  element: HTMLElement
  options: EChartsCoreOption[]
  disposed: boolean
}

export const charts: FakeChart[] = []

/** Stands in for `src/ioc/charts.ts`: `vi.mock('../../src/ioc/charts', () => fakeCharts)`. */
export const fakeCharts = {
  init(element: HTMLElement) {
    const chart: FakeChart = { element, options: [], disposed: false }
    charts.push(chart)
    return {
      setOption: (option: EChartsCoreOption) => void chart.options.push(option),
      resize: () => undefined,
      dispose: () => void (chart.disposed = true),
    }
  },
}

/** The last option the chart inside `selector` was given. */
export function lastOption(selector: string): Record<string, any> {
  const chart = [...charts].reverse().find((each) => !each.disposed && each.element.matches(selector))
  if (!chart) throw new Error(`no chart in ${selector}`)
  return chart.options.at(-1) as Record<string, any>
}

/** A live feed the test writes events into: each stream asked for hears every event. */
export function liveStream() {
  const streams: ReadableStreamDefaultController<Uint8Array>[] = []
  const encoder = new TextEncoder()
  let next = 0
  return {
    response(): Response {
      const body = new ReadableStream<Uint8Array>({ start: (controller) => void streams.push(controller) })
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
    },
    event(type: string, payload: Record<string, unknown> = {}, createdAt = '2026-05-01T06:02:00Z'): void {
      next += 1
      const sent = { id: `e${next}`, type, key: `k${next}`, payload, created_at: createdAt }
      const text = encoder.encode(`id: e${next}\nevent: ${type}\ndata: ${JSON.stringify(sent)}\n\n`)
      for (const controller of streams) {
        try {
          controller.enqueue(text)
        } catch {
          // a stream its reader let go of
        }
      }
    },
  }
}
