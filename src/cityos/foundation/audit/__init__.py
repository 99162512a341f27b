"""The audit trail: an append-only, hash-chained record of every change, every sign-in and
failed sign-in, and every reveal of personal data.

``record(session, actor=..., action="pii.reveal", target_type=..., target_id=...,
outcome="success", details={...}, purpose=...)`` appends in the caller's transaction, and
the commit seals it into the chain (``seal``; the ``audit.seal`` timer catches what a busy
commit left); ``verify(session)`` walks the chain and names its first fault; ``query``
pages records for the auditors' API and ``export_xlsx`` writes them to Excel.
``cityos audit verify``, ``cityos audit seal`` and ``cityos audit export`` do the same from
the command line.

The chain is written here by hand, in a page of code, because no maintained library keeps a
hash-chained audit table on both SQLite and PostgreSQL inside our unit of work: the
candidates are PostgreSQL-only (pgaudit, trigger-based history tables), keep no chain
(SQLAlchemy-Continuum, sqlalchemy-history), or want their own storage service (immudb,
Trillian). ``cityos.foundation.audit.service`` explains what the chain proves and what it
does not.
"""

from __future__ import annotations

from pathlib import Path

from cityos.foundation.audit.cli import cli
from cityos.foundation.audit.models import AuditCheckpoint, AuditRecord
from cityos.foundation.audit.service import (
    CHECKPOINT_EVERY,
    EXPORT_COLUMNS,
    GENESIS_HASH,
    SEAL_EVERY,
    SEAL_JOB,
    Fault,
    FaultKind,
    InvalidAuditRecord,
    Outcome,
    PersonalDataInAudit,
    VerifyReport,
    export_xlsx,
    head,
    query,
    record,
    record_hash,
    seal,
    seal_all,
    seal_job,
    verify,
)
from cityos.kernel.registry import Module

# isort: split
# The HTTP face last: it needs identity's authorisation, and identity records to the trail
# through the names bound above, whichever of the two packages is imported first.
from cityos.foundation.audit.api import PERMISSIONS
from cityos.foundation.audit.api import router as api_router

module = Module(
    name="audit",
    models=("cityos.foundation.audit.models",),
    migrations=Path(__file__).parent / "migrations",
    routers=(api_router,),
    cli=cli,
    cli_name="audit",
    permissions=PERMISSIONS,
    jobs={SEAL_JOB: seal_job},
    timers={SEAL_JOB: SEAL_EVERY},
)

__all__ = [
    "CHECKPOINT_EVERY",
    "EXPORT_COLUMNS",
    "GENESIS_HASH",
    "AuditCheckpoint",
    "AuditRecord",
    "Fault",
    "FaultKind",
    "InvalidAuditRecord",
    "Outcome",
    "PersonalDataInAudit",
    "VerifyReport",
    "export_xlsx",
    "head",
    "module",
    "query",
    "record",
    "record_hash",
    "seal",
    "seal_all",
    "verify",
]
