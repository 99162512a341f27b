import { describe, expect, it } from 'vitest'
import { niceDomain, niceStep, scaleSeries, type Box } from '../../../src/workbench/devices/chartScale'
import { chartPoints } from '../../../src/workbench/devices/seriesPoints'

const BOX: Box = { width: 110, height: 120, top: 10, right: 0, bottom: 10, left: 10 }

describe('niceStep and niceDomain', () => {
  it('picks 1, 2 or 5 times a power of ten', () => {
    expect(niceStep(10, 4)).toBe(5)
    expect(niceStep(1, 4)).toBe(0.5)
    expect(niceStep(37, 4)).toBe(10)
    expect(niceStep(0.07, 4)).toBe(0.02)
  })

  it('covers the values with round ticks', () => {
    expect(niceDomain(3.2, 18.7)).toEqual({ min: 0, max: 20, ticks: [0, 5, 10, 15, 20] })
    expect(niceDomain(0.1, 0.3).ticks).toEqual([0.1, 0.15, 0.2, 0.25, 0.3])
  })

  it('gives a flat series some height', () => {
    const domain = niceDomain(5, 5)
    expect(domain.min).toBeLessThan(5)
    expect(domain.max).toBeGreaterThan(5)
    expect(niceDomain(0, 0).ticks).toContain(0)
  })
})

describe('scaleSeries', () => {
  const span = { from: 0, to: 100 }

  it('maps time across and values up the box', () => {
    const scaled = scaleSeries([{ t: 0, v: 0 }, { t: 50, v: 10 }, { t: 100, v: 20 }], BOX, span)
    expect(scaled.domain).toEqual({ min: 0, max: 20 })
    expect(scaled.line).toBe('M10,110L60,60L110,10')
    expect(scaled.yTicks.map((tick) => tick.y)).toEqual([110, 85, 60, 35, 10])
    expect(scaled.xTicks.map((tick) => tick.x)).toEqual([10, 35, 60, 85, 110])
  })

  it('breaks the line where a value is missing', () => {
    const scaled = scaleSeries([{ t: 0, v: 0 }, { t: 25, v: null }, { t: 50, v: 20 }, { t: 100, v: 20 }], BOX, span)
    expect(scaled.line).toBe('M10,110M60,10L110,10')
  })

  it('draws the min–max band of bucketed points and includes it in the scale', () => {
    const scaled = scaleSeries([{ t: 0, v: 5, min: 0, max: 10 }, { t: 100, v: 5, min: 2, max: 20 }], BOX, span)
    expect(scaled.domain).toEqual({ min: 0, max: 20 })
    expect(scaled.band).toBe('M10,60L110,10L110,100L10,110Z')
  })

  it('turns API points into chart points: means for buckets, 1/0 for truths', () => {
    const points = chartPoints({
      datastream: 1,
      bucket: '1h',
      truncated: false,
      points: [
        { time: '2026-05-01T00:00:00Z', avg: 2.5, min: 1, max: 4, count: 12 },
        { time: '2026-05-01T01:00:00Z', value: true },
        { time: '2026-05-01T02:00:00Z', value: 'n/a' },
      ],
    })
    expect(points).toEqual([
      { t: Date.parse('2026-05-01T00:00:00Z'), v: 2.5, min: 1, max: 4 },
      { t: Date.parse('2026-05-01T01:00:00Z'), v: 1, min: null, max: null },
      { t: Date.parse('2026-05-01T02:00:00Z'), v: null, min: null, max: null },
    ])
    expect(chartPoints(null)).toEqual([])
  })
})
