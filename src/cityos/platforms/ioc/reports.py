"""Reports that go to leaders: the district's daily situation report (城市运行日报) and a
contingency plan's summary (预案处置总结), as Excel and as PDF.

Every figure is counted from the database for the report's day (Asia/Shanghai) or run.
The daily report is also made each morning by the ``ioc.daily_report`` timer, kept in the
file store (``StoredReport``) and announced to those who may read it.
The PDF embeds a CJK font found on the machine (Debian's ``fonts-noto-cjk``, which
``make run`` and the test set-up install; ``CITYOS_PDF_FONT`` names another): without one a
PDF cannot show Chinese, and the request is refused with ``pdf_font_missing``.

PDFs are drawn with fpdf2 (small, pure Python, embeds and subsets OpenType CJK fonts);
workbooks with openpyxl.
"""

from __future__ import annotations

import io
import os
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.domains.cases.models import Case
from cityos.foundation.identity.models import Role
from cityos.foundation.identity.permissions import expand
from cityos.foundation.notify import Channel, Template, holders, notify, register_template
from cityos.foundation.notify.models import AreaNotice
from cityos.foundation.telemetry.alarm_models import Alarm
from cityos.foundation.telemetry.models import Thing
from cityos.kernel.clock import SHANGHAI, local, utcnow
from cityos.kernel.errors import DomainError
from cityos.kernel.files import put, storage_from_settings
from cityos.platforms.ioc.models import StoredReport
from cityos.platforms.ioc.plans import resources
from cityos.platforms.ioc.plans import service as plans
from cityos.platforms.ioc.plans.models import PlanRun
from cityos.settings import Settings, get_settings

# (path, index in the collection): Noto Sans CJK's Simplified Chinese face first.
REPORTS_PERMISSION = "ioc.reports.read"
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
)


class PdfFontMissing(DomainError):
    """No CJK font on this machine to draw a Chinese PDF with."""

    status = 503
    code = "pdf_font_missing"


# What leaders read instead of the codes the records keep.
_LABELS: dict[str, str] = {
    # channels
    "hotline": "12345热线",
    "portal": "i罗湖",
    "patrol": "网格巡查",
    "iot": "物联感知",
    "referral": "转办",
    "open311": "开放接口",
    # severities and device states
    "critical": "紧急",
    "major": "重要",
    "minor": "次要",
    "warning": "提示",
    "online": "在线",
    "offline": "离线",
    "fault": "故障",
    "unknown": "未上报",
    # run states, task states
    "proposed": "待确认",
    "active": "响应中",
    "closed": "已结束",
    "dismissed": "已否决",
    "assigned": "待签收",
    "handling": "处置中",
    "done": "已完成",
    "cancelled": "已撤销",
    # timeline
    "started": "启动响应",
    "task_sent": "下发任务",
    "task_added": "追加任务",
    "task_sign": "签收",
    "task_report": "报告进展",
    "task_finish": "完成反馈",
    "task_cancel": "任务撤销",
    "notified": "通知相关人员",
    "residents_notified": "通知区域居民",
    "residents_not_told": "演练不通知居民",
    "level_raised": "提升响应级别",
    "level_lowered": "降低响应级别",
    "raise_proposed": "建议提升级别",
    "resources_dispatched": "调派资源",
    "resources_released": "释放资源",
}


def _label(code: object) -> str:
    return _LABELS.get(str(code), str(code))


@dataclass
class Section:
    """A titled table of a report: its column headings and rows."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class Report:
    title: str
    subtitle: str
    sections: list[Section]
    note: str = ""


# --- the daily report ----------------------------------------------------------------------


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), SHANGHAI)
    return start, start + timedelta(days=1)


def daily(session: Session, *, day: date) -> Report:
    """The district's situation on ``day`` (Shanghai): cases, alarms, devices, plans and
    notices, each counted from the records."""
    start, end = _day_bounds(day)
    cases = Section("一、城市事件 City cases", ["指标 Indicator", "数量 Count"])
    reported = session.execute(
        select(Case.channel, func.count())
        .where(Case.created_at >= start, Case.created_at < end, Case.master_case_id.is_(None))
        .group_by(Case.channel)
        .order_by(Case.channel)
    ).all()
    cases.rows.append(["当日受理 Reported", sum(int(n) for _, n in reported)])
    cases.rows.extend([f"  其中 {_label(channel)}", int(n)] for channel, n in reported)
    closed = session.scalar(
        select(func.count()).where(Case.closed_at >= start, Case.closed_at < end)
    )
    cases.rows.append(["当日结案 Closed", int(closed or 0)])
    overdue = session.scalar(
        select(func.count()).where(
            Case.closed_at.is_(None),
            Case.due_at < end,
            Case.status.not_in(("closed", "rejected", "merged")),
        )
    )
    cases.rows.append(["日终超期未结 Overdue at day's end", int(overdue or 0)])

    alarms = Section("二、物联告警 IoT alarms", ["类型 Type", "级别 Severity", "数量 Count"])
    for kind, severity, count in session.execute(
        select(Alarm.name_zh, Alarm.severity, func.count())
        .where(Alarm.raised_at >= start, Alarm.raised_at < end)
        .group_by(Alarm.name_zh, Alarm.severity)
        .order_by(func.count().desc(), Alarm.name_zh)
    ):
        alarms.rows.append([kind, _label(severity), int(count)])

    devices = Section("三、感知设备（当前）Devices (now)", ["状态 Status", "数量 Count"])
    for status, count in session.execute(
        select(Thing.status, func.count())
        .where(Thing.code.is_not(None))
        .group_by(Thing.status)
        .order_by(Thing.status)
    ):
        devices.rows.append([_label(status), int(count)])

    runs = Section(
        "四、应急预案 Contingency plans",
        ["预案 Plan", "级别 Level", "状态 Status", "演练 Drill", "启动 Started", "结束 Closed"],
    )
    for run in session.scalars(
        select(PlanRun)
        .where(PlanRun.created_at < end)
        .where((PlanRun.closed_at.is_(None)) | (PlanRun.closed_at >= start))
        .order_by(PlanRun.created_at)
    ):
        runs.rows.append(
            [
                run.name_zh,
                run.level,
                _label(run.status),
                "是" if run.drill else "否",
                _when(run.started_at),
                _when(run.closed_at),
            ]
        )
    notices = Section("五、区域通知 Area notices", ["标题 Title", "送达人数 Reached", "时间 Sent"])
    for notice in session.scalars(
        select(AreaNotice)
        .where(AreaNotice.created_at >= start, AreaNotice.created_at < end)
        .order_by(AreaNotice.created_at)
    ):
        notices.rows.append([notice.title_zh, notice.recipients, _when(notice.created_at)])
    return Report(
        title="罗湖区城市运行日报",
        subtitle=f"Luohu District daily situation report · {day.isoformat()}（北京时间）",
        sections=[cases, alarms, devices, runs, notices],
        note="本报告由 CityOS 根据数据库记录生成；演示数据为模拟数据。",
    )


# --- a plan's summary ------------------------------------------------------------------------


def plan_summary(session: Session, *, run_id: uuid.UUID) -> Report:
    """A run from its trigger to its close: tasks, resources and the timeline."""
    run = plans.get_run(session, run_id)
    head = Section("一、概况 Overview", ["项目 Item", "内容 Value"])
    head.rows.extend(
        [
            ["预案 Plan", run.name_zh],
            ["响应级别 Level", run.level],
            ["状态 Status", _label(run.status)],
            ["演练 Drill", "是" if run.drill else "否"],
            ["触发 Trigger", _trigger(run.trigger)],
            ["启动 Started", f"{_when(run.started_at)} {run.started_by or ''}".strip()],
            ["结束 Closed", f"{_when(run.closed_at)} {run.closed_by or ''}".strip()],
            ["总结 Summary", run.summary or ""],
        ]
    )
    tasks = Section(
        "二、联动任务 Linked tasks",
        ["部门 Unit", "任务 Task", "级别 Level", "时限 Due", "状态 State", "完成 Done"],
    )
    for task in plans.tasks_of(session, run.id):
        tasks.rows.append(
            [
                task.department_code,
                task.title_zh,
                task.level,
                _when(task.due_at),
                _label(task.state),
                _when(task.finished_at),
            ]
        )
    sent = Section("三、调派资源 Resources", ["编号 Code", "名称 Name", "类型 Type"])
    for row in resources.of_run(session, run.id):
        sent.rows.append([row.code, row.name_zh, row.type])
    for event in plans.timeline_of(session, run.id):
        if event.kind == "resources_dispatched":
            for item in event.data.get("sent", []):
                sent.rows.append([item.get("code"), item.get("name"), event.data.get("type")])
    timeline = Section(
        "四、处置过程 Timeline", ["时间 Time", "事项 Event", "人员 By", "说明 Detail"]
    )
    for event in plans.timeline_of(session, run.id):
        detail = event.data.get("comment") or event.data.get("do") or event.data.get("reason")
        timeline.rows.append([_when(event.at), _label(event.kind), event.actor or "", detail or ""])
    return Report(
        title=f"{run.name_zh}处置总结",
        subtitle=f"Contingency plan summary · {run.plan_code} · {run.id}",
        sections=[head, tasks, sent, timeline],
        note="本报告由 CityOS 根据预案处置记录生成。",
    )


def _trigger(trigger: dict[str, Any]) -> str:
    kind = trigger.get("kind")
    if kind == "alarm":
        return f"告警 {trigger.get('alarm')} × {trigger.get('count')}"
    if kind == "warning":
        return f"预警 {trigger.get('warning')}"
    if kind == "cases":
        return f"案件 {trigger.get('category')} 类 × {trigger.get('count')}"
    return f"人工启动 {trigger.get('by', '')}".strip()


def _when(moment: datetime | None) -> str:
    return "" if moment is None else local(moment).strftime("%Y-%m-%d %H:%M")


# --- rendering ---------------------------------------------------------------------------------


def to_xlsx(report: Report) -> bytes:
    """One sheet: the title, then each section as a headed table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "报告 Report"
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([report.subtitle])
    for section in report.sections:
        sheet.append([])
        sheet.append([section.title])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        sheet.append(section.columns)
        for row in section.rows:
            # Text stays text: a value starting with "=" must never become a formula.
            sheet.append([f"'{v}" if isinstance(v, str) and v.startswith("=") else v for v in row])
    sheet.append([])
    sheet.append([report.note])
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def font() -> tuple[str, int]:
    """The CJK font to embed: ``CITYOS_PDF_FONT`` (``path`` or ``path#index``), else the first
    of ``FONT_CANDIDATES`` present."""
    named = os.environ.get("CITYOS_PDF_FONT")
    if named:
        path, _, number = named.partition("#")
        return path, int(number or 0)
    for path, index in FONT_CANDIDATES:
        if Path(path).exists():
            return path, index
    raise PdfFontMissing(
        "no CJK font to draw a Chinese PDF with: install Debian's fonts-noto-cjk "
        "(make run does) or set CITYOS_PDF_FONT"
    )


def to_pdf(report: Report) -> bytes:
    """A4 portrait: the title, then each section as a table, the font embedded (subset)."""
    from fpdf import FPDF, FontFace

    path, index = font()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("cjk", fname=path, collection_font_number=index)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, report.title, new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("cjk", size=9)
    pdf.cell(0, 6, report.subtitle, new_x="LMARGIN", new_y="NEXT", align="C")
    for section in report.sections:
        pdf.ln(3)
        pdf.set_font("cjk", size=12)
        pdf.cell(0, 8, section.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=8)
        if not section.rows:
            pdf.cell(0, 6, "（无 None）", new_x="LMARGIN", new_y="NEXT")
            continue
        # Headings in the same face: a CJK font has no separate bold file here.
        headings = FontFace(emphasis="", fill_color=(230, 236, 245))
        with pdf.table(first_row_as_headings=True, line_height=5, headings_style=headings) as table:
            heading = table.row()
            for column in section.columns:
                heading.cell(column)
            for row in section.rows:
                line = table.row()
                for value in row:
                    line.cell("" if value is None else str(value))
    pdf.ln(4)
    pdf.set_font("cjk", size=8)
    pdf.multi_cell(0, 5, report.note)
    return bytes(pdf.output())


# --- the morning's daily report ---------------------------------------------------------------

DAILY_JOB = "ioc.daily_report"
DAILY_EVERY = 3600
# The daily report of yesterday is made from this hour (Shanghai) on: the night's data in.
DAILY_FROM_HOUR = 7
READY = Template(
    code="ioc-daily-report",
    title={"zh-CN": "城市运行日报已生成", "en": "The daily situation report is ready"},
    body={
        "zh-CN": "{day} 城市运行日报已生成，请在工作台下载查阅。",
        "en": "The daily situation report of {day} is ready to download in the workbench.",
    },
)
register_template(READY)


def store_daily(session: Session, *, day: date, settings: Settings) -> StoredReport:
    """Make ``day``'s report as Excel and (with a CJK font) PDF, keep both in the file
    store, and tell those who read it; once a day."""
    found = session.scalar(
        select(StoredReport).where(StoredReport.kind == "daily", StoredReport.day == day)
    )
    if found is not None:
        return found
    report = daily(session, day=day)
    storage = storage_from_settings(settings)

    def keep(content: bytes, suffix: str) -> str:
        row = put(
            session,
            storage,
            stream=io.BytesIO(content),
            filename=f"luohu-daily-{day.isoformat()}.{suffix}",
            max_bytes=max(settings.max_upload_bytes, len(content)),
        )
        return row.sha256

    try:
        pdf: str | None = keep(to_pdf(report), "pdf")
    except PdfFontMissing:
        pdf = None
    stored = StoredReport(
        kind="daily",
        day=day,
        title=f"{report.title} {day.isoformat()}",
        xlsx_sha256=keep(to_xlsx(report), "xlsx"),
        pdf_sha256=pdf,
    )
    session.add(stored)
    session.flush()
    readers = [
        role.code
        for role in session.scalars(select(Role))
        if expand(role.permissions, [REPORTS_PERMISSION])
    ]
    notify(
        session,
        recipients=holders(session, roles=readers, region_code=None),
        template=READY.code,
        params={"day": day.isoformat()},
        channels=(Channel.PORTAL,),
        subject_type="ioc_report",
        subject_id=str(stored.id),
    )
    return stored


def daily_report_job(session: Session, payload: dict[str, Any]) -> None:
    """The ``ioc.daily_report`` timer (hourly): yesterday's report, from 07:00 Shanghai."""
    now = utcnow().astimezone(SHANGHAI)
    if now.hour >= DAILY_FROM_HOUR:
        store_daily(session, day=now.date() - timedelta(days=1), settings=get_settings())
