import { pointValue, type Series } from './devices'
import type { ChartPoint } from './chartScale'

/** A series from the API as chart points: means with their min–max band for buckets. */
export function chartPoints(series: Series | null): ChartPoint[] {
  if (!series) return []
  return series.points.map((point) => ({
    t: new Date(point.time).getTime(),
    v: pointValue(point),
    min: typeof point.min === 'number' ? point.min : null,
    max: typeof point.max === 'number' ? point.max : null,
  }))
}
