import { describe, expect, it } from 'vitest'
import { forgetCategories } from '../../../src/shared/cases'
import HotlineIntake from '../../../src/workbench/cases/HotlineIntake.vue'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, mountIn, settle, signInAs } from '../../helpers'
import { caseBody, CASES, OPERATOR } from '../../shared/caseFixtures'

describe('热线受理', () => {
  it('takes in a call as a hotline case and shows its number and suggested category', async () => {
    await signInAs(OPERATOR)
    const { callsTo } = stubNetwork({
      [CASES]: () =>
        jsonResponse(caseBody({ channel: 'hotline', reporter_name: '王**', reporter_phone: '138****5678' }), { status: 201 }),
    })
    const { wrapper } = mountIn('zh-CN', HotlineIntake)

    await wrapper.get('input[name="reporter_name"]').setValue('王小明')
    await wrapper.get('input[name="reporter_phone"]').setValue('13812345678')
    await wrapper.get('input[name="address"]').setValue('人民南路3002号')
    await wrapper.get('textarea[name="description"]').setValue('路口积水很深')
    await wrapper.get('select[name="request_type"]').setValue('help')
    await wrapper.get('[data-testid="intake-form"]').trigger('submit')
    await settle()

    expect(JSON.parse(callsTo(CASES)[0]!.body)).toEqual({
      channel: 'hotline',
      request_type: 'help',
      description: '路口积水很深',
      address: '人民南路3002号',
      reporter_name: '王小明',
      reporter_phone: '13812345678',
    })
    expect(wrapper.get('[data-testid="intake-created"]').text()).toContain('已受理，事件编号 LH20261201000001')
    expect(wrapper.get('[data-testid="intake-suggested"]').text()).toBe('建议分类 1505')
    expect((wrapper.get('input[name="reporter_name"]').element as HTMLInputElement).value).toBe('')
  })

  it('offers the catalogue for the category code and names the chosen class', async () => {
    forgetCategories()
    await signInAs(OPERATOR)
    stubNetwork({
      [`${CASES}/categories`]: () =>
        jsonResponse([
          { code: '1505', kind: 'event', major_code: '15', major_name_zh: '突发事件', major_name_en: 'Emergencies', name_zh: '内涝积水', name_en: 'Waterlogging', department_code: 'water-affairs' },
        ]),
    })
    const { wrapper } = mountIn('zh-CN', HotlineIntake)
    await settle()

    expect(wrapper.findAll('datalist option').map((option) => option.attributes('value'))).toEqual(['1505'])
    await wrapper.get('input[name="category_code"]').setValue('1505')
    expect(wrapper.get('[data-testid="category-name"]').text()).toBe('内涝积水')
    await wrapper.get('input[name="category_code"]').setValue('9999')
    expect(wrapper.get('[data-testid="category-unknown"]').text()).toBe('目录中没有这个分类编码')
    forgetCategories()
  })

  it('shows a bad phone number next to its field', async () => {
    await signInAs(OPERATOR)
    stubNetwork({
      [CASES]: () =>
        jsonResponse(
          {
            status: 422,
            title: '请求参数有误',
            detail: "the reporter's phone is not a mainland mobile number",
            errors: [{ field: 'reporter_phone', message: 'not a mobile' }],
          },
          { status: 422, type: 'application/problem+json' },
        ),
    })
    const { wrapper } = mountIn('zh-CN', HotlineIntake)
    await wrapper.get('input[name="reporter_phone"]').setValue('12345')
    await wrapper.get('textarea[name="description"]').setValue('噪音')
    await wrapper.get('[data-testid="intake-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="field-error"]').text()).toBe('not a mobile')
    expect(wrapper.get('input[name="reporter_phone"]').attributes('aria-invalid')).toBe('true')
  })
})
