import { describe, expect, it } from 'vitest'
import { anySynthetic } from '../../../src/shared/geo'
import SyntheticNotice from '../../../src/workbench/geo/SyntheticNotice.vue'
import { mountIn } from '../../helpers'

describe('anySynthetic', () => {
  it('is true when one drawn feature or region is synthetic', () => {
    expect(anySynthetic([{ properties: { synthetic: false } }, { properties: { synthetic: true } }])).toBe(true)
    expect(anySynthetic([{ synthetic: false }, { synthetic: true }])).toBe(true)
  })

  it('is false for real data, missing flags and nothing drawn', () => {
    expect(anySynthetic([])).toBe(false)
    expect(anySynthetic([{ properties: { synthetic: false } }, { properties: null }, { synthetic: 'yes' }])).toBe(false)
  })

  it('reads any iterable, such as the layers of a map', () => {
    const drawn = new Set([{ properties: { synthetic: false } }, { properties: { synthetic: true } }])
    expect(anySynthetic(drawn)).toBe(true)
  })
})

describe('synthetic notice', () => {
  it('says the boundaries are synthetic', () => {
    const { wrapper } = mountIn('zh-CN', SyntheticNotice, { props: { boundaries: true, layers: [] } })
    expect(wrapper.get('[data-testid="synthetic-notice"]').text()).toBe('边界为模拟数据')
    expect(wrapper.find('[data-testid="synthetic-layers"]').exists()).toBe(false)
  })

  it('names the synthetic layers shown', () => {
    const { wrapper } = mountIn('zh-CN', SyntheticNotice, {
      props: { boundaries: true, layers: ['应急避难场所', '学校'] },
    })
    expect(wrapper.get('[data-testid="synthetic-layers"]').text()).toBe('应急避难场所、学校为模拟数据')
  })

  it('speaks English', () => {
    const { wrapper } = mountIn('en', SyntheticNotice, { props: { boundaries: true, layers: ['Schools'] } })
    expect(wrapper.get('[data-testid="synthetic-boundaries"]').text()).toBe('Boundaries are synthetic')
    expect(wrapper.get('[data-testid="synthetic-layers"]').text()).toBe('Schools: synthetic data')
  })

  it('stays hidden when nothing drawn is synthetic', () => {
    const { wrapper } = mountIn('zh-CN', SyntheticNotice, { props: { boundaries: false, layers: [] } })
    expect(wrapper.find('[data-testid="synthetic-notice"]').exists()).toBe(false)
  })
})
