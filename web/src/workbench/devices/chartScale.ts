/**
 * The arithmetic of the line chart, apart from its SVG so it can be tested: the value
 * axis with round ticks, and the points mapped to pixels (a gap where a value is missing).
 */

export interface ChartPoint {
  /** Milliseconds since the epoch. */
  t: number
  v: number | null
  min?: number | null
  max?: number | null
}

export interface Box {
  width: number
  height: number
  top: number
  right: number
  bottom: number
  left: number
}

export interface Scaled {
  /** The SVG path of the line, `M` at each start after a gap. */
  line: string
  /** The min–max band of bucketed points, empty for raw values. */
  band: string
  yTicks: { value: number; y: number }[]
  xTicks: { t: number; x: number }[]
  domain: { min: number; max: number }
  x: (t: number) => number
  y: (v: number) => number
}

/** A step of 1, 2 or 5 × 10^n giving about `count` intervals over `span`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !(count > 0)) return 1
  const raw = span / count
  const power = 10 ** Math.floor(Math.log10(raw))
  const fraction = raw / power
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
  return nice * power
}

/** Round bounds and ticks covering `[min, max]`; a flat series gets a band around its value. */
export function niceDomain(min: number, max: number, count = 4): { min: number; max: number; ticks: number[] } {
  let low = min
  let high = max
  if (low === high) {
    const pad = Math.abs(low) > 0 ? Math.abs(low) * 0.1 : 1
    low -= pad
    high += pad
  }
  const step = niceStep(high - low, count)
  const start = Math.floor(low / step) * step
  const end = Math.ceil(high / step) * step
  const ticks: number[] = []
  // Round each tick to the step's precision so 0.1 + 0.2 reads 0.3.
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1)
  for (let value = start; value <= end + step / 2; value += step) {
    ticks.push(Number(value.toFixed(digits)))
  }
  return { min: start, max: end, ticks }
}

const round = (value: number): number => Math.round(value * 10) / 10

/** Map `points` (oldest first) into `box` over the time span `[from, to]`. */
export function scaleSeries(points: readonly ChartPoint[], box: Box, span: { from: number; to: number }, ticks = 4): Scaled {
  const values = points.flatMap((p) => [p.v, p.min, p.max]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  const domain = values.length ? niceDomain(Math.min(...values), Math.max(...values), ticks) : niceDomain(0, 1, ticks)
  const innerW = box.width - box.left - box.right
  const innerH = box.height - box.top - box.bottom
  const t0 = span.from
  const dt = span.to > span.from ? span.to - span.from : 1
  const x = (t: number): number => round(box.left + ((t - t0) / dt) * innerW)
  const y = (v: number): number => round(box.top + innerH - ((v - domain.min) / (domain.max - domain.min)) * innerH)

  let line = ''
  let drawing = false
  for (const point of points) {
    if (point.v === null || !Number.isFinite(point.v)) {
      drawing = false
      continue
    }
    line += `${drawing ? 'L' : 'M'}${x(point.t)},${y(point.v)}`
    drawing = true
  }

  const banded = points.filter((p) => typeof p.min === 'number' && typeof p.max === 'number')
  const band = banded.length > 1
    ? `M${banded.map((p) => `${x(p.t)},${y(p.max as number)}`).join('L')}` +
      `L${[...banded].reverse().map((p) => `${x(p.t)},${y(p.min as number)}`).join('L')}Z`
    : ''

  const xTicks: { t: number; x: number }[] = []
  for (let i = 0; i <= ticks; i += 1) {
    const t = t0 + (dt * i) / ticks
    xTicks.push({ t, x: x(t) })
  }
  return {
    line,
    band,
    yTicks: domain.ticks.map((value) => ({ value, y: y(value) })),
    xTicks,
    domain: { min: domain.min, max: domain.max },
    x,
    y,
  }
}
