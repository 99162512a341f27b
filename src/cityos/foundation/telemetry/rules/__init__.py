"""Rules on device data: declared in the profile (``packs/*/rules.yaml``), judged as
readings arrive, raising and clearing alarms. ``definition`` holds the grammar,
``engine`` the judging, ``profile`` the loading; ``register_rule_kind`` is the hook for
model-based (anomaly) rules."""

from __future__ import annotations

from cityos.foundation.telemetry.rules.definition import (
    Condition,
    Moment,
    RuleEntry,
    register_rule_kind,
    unregister_rule_kind,
)
from cityos.foundation.telemetry.rules.engine import (
    active_rules,
    check_silence,
    forget_compiled_rules,
    on_arrival,
    silence_job,
)
from cityos.foundation.telemetry.rules.profile import SILENCE_JOB, rules_section

__all__ = [
    "SILENCE_JOB",
    "Condition",
    "Moment",
    "RuleEntry",
    "active_rules",
    "check_silence",
    "forget_compiled_rules",
    "on_arrival",
    "register_rule_kind",
    "rules_section",
    "silence_job",
    "unregister_rule_kind",
]
