"""Retiring policies: executions keep the permissions of the definition they started with. Pure core.

Step Functions' ``UpdateStateMachine``: "Running executions will continue to use the previous definition and
roleArn" (https://docs.aws.amazon.com/step-functions/latest/apireference/API_UpdateStateMachine.html), and a Standard
execution runs for up to a year. When a fix replaces the machine's policy with one that grants less (an update, an
alias that stops routing to a version, a change the sweep finds), the grants of the previous policy stay on the role
as the inline policy ``<base>,retiring`` for as long as an execution that started before the change may still run:

- **Only when something is taken away.** The previous documents come from the ledger (what the fixer planned and
  wrote, guardrails applied); each of their grants not covered by the new documents (fixing/residual.py's
  containment) is a loss. No loss, no call: a create, or an update that only adds, costs nothing more.
- **Only when an old execution runs.** One ``ListExecutions`` (``RUNNING``, newest first, bounded pages, docs/adr/0007)
  asks whether an execution that started before the change (plus :data:`GRACE_SECONDS`: calls to StartExecution within
  a few seconds of an update may still use the previous definition) is running. None: no retiring policy.
- **The previous document, never more.** The retiring policy is made of the statements of the previous documents as
  IAM holds them (checked equal to the ledger's record before it is written; anything else is not kept) and of the
  retiring policy it replaces; each Sid carries the time of the change (``Retiring20261129T212400Z...``) so the policy
  says when it started retiring without the ledger.
- **Per past definition, only while one of its executions runs.** Each statement's Sid records the window of start
  times that may need it (``Retiring<until>[From<since>]``: :func:`document`, :func:`window`); the start times the
  listing returns prune the statements of definitions no running execution started under (:func:`prune`,
  ``RETIRING_NARROWED``), so a new execution before each deploy does not carry every past definition forward.
- **Removed when no old execution runs.** Every later fix of the machine (its next event, the daily sweep) lists again
  and deletes it once no execution started before its time is running; a delete of the machine removes it with the
  machine's policy (DeleteStateMachine terminates the executions at their next state transition). An error or the
  page bound keeps it and says so (``EXECUTIONS_UNLISTED``).
- **EXPRESS machines** are never listed (``ListExecutions`` does not support them) and get no retiring policy: their
  executions last at most five minutes (docs/events.md).
- It counts toward the role's inline budget and is never written where it would make IAM refuse the new policy:
  before the new policy when that one is no larger than the one it replaces (so it still fits), else right after it,
  else not at all (``RETIRING_NOT_PLACED``): the old executions then lose the grants, as before retiring policies.
- **A role move**: the older executions run under the role the machine left; its previous inline policy retires there
  (:meth:`Retirement.on_left_role`), and the ledger keeps that role until the retiring policy goes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from sfn_iam.engine import policy
from sfn_iam.findings import Finding
from sfn_iam.fixing import naming
from sfn_iam.fixing.changes import ChangeSet, same
from sfn_iam.fixing.ports import Document, OldExecutions, PolicyLimitExceededError, RolePolicyStore
from sfn_iam.model import StateMachine

GRACE_SECONDS = 60  # StartExecution calls within a few seconds after an update may still use the previous definition
SID_PREFIX = "Retiring"
MAX_LISTED = 5  # lost grants named in a finding
_STAMP = re.compile(r"^Retiring(\d{8})T(\d{6})Z(?:From(\d{8})T(\d{6})Z)?")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-]00:?00)$")


# -- time, without a clock (ISO 8601 strings in UTC, "YYYY-MM-DDTHH:MM:SSZ") ----------------------------------------

def timestamp(text: Any) -> str:
    """``text`` (CloudTrail's ``eventTime``) as ``YYYY-MM-DDTHH:MM:SSZ``; ``""`` when it is not a UTC time."""
    m = _ISO.match(text) if isinstance(text, str) else None
    if m is None:
        return ""
    y, mo, d, h, mi, s = (int(g) for g in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 60):
        return ""
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}Z"


def _days(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 (proleptic Gregorian; H. Hinnant's days_from_civil)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + (yoe * 365 + yoe // 4 - yoe // 100 + doy) - 719468


def _civil(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def later(ts: str, seconds: int) -> str:
    """``ts`` (normalised) plus ``seconds``."""
    total = _days(int(ts[0:4]), int(ts[5:7]), int(ts[8:10])) * 86400 + int(ts[11:13]) * 3600 + \
        int(ts[14:16]) * 60 + int(ts[17:19]) + seconds
    y, m, d = _civil(total // 86400)
    rest = total % 86400
    return f"{y:04d}-{m:02d}-{d:02d}T{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}Z"


def stamp(ts: str) -> str:
    """The Sid prefix recording ``ts``: ``Retiring20261129T212400Z``."""
    return f"{SID_PREFIX}{ts[0:4]}{ts[5:7]}{ts[8:10]}T{ts[11:13]}{ts[14:16]}{ts[17:19]}Z"


def _time(day: str | None, clock: str | None) -> str:
    return timestamp(f"{day[:4]}-{day[4:6]}-{day[6:]}T{clock[:2]}:{clock[2:4]}:{clock[4:]}Z") if day and clock else ""


def window(statement: dict[str, Any]) -> tuple[str, str] | None:
    """When executions that need ``statement`` started: ``(from, until)`` from its Sid (``from`` ``""``: since ever;
    an execution started before ``until`` plus :data:`GRACE_SECONDS` may run the definition it was retired from);
    ``None`` when the Sid carries no stamp the fixer wrote."""
    m = _STAMP.match(str(statement.get("Sid", "")))
    if m is None:
        return None
    until, since = _time(*m.groups()[:2]), _time(*m.groups()[2:])
    return (since, until) if until and (since or m.group(3) is None) else None


def since_of(document: Document | None) -> str:
    """When the retiring policy started retiring (the latest stamp of its Sids); ``""`` when a statement has none:
    such a policy is not one the fixer wrote, and is not kept."""
    found = [window(s) for s in _statements(document)]
    return max(w[1] for w in found if w) if found and all(found) else ""


# -- documents -----------------------------------------------------------------------------------------------------

def _statements(document: Document | None) -> list[dict[str, Any]]:
    raw = document.get("Statement") if isinstance(document, dict) else None
    items = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    return [s for s in items if isinstance(s, dict)]


def lost(previous: Sequence[Document], current: Sequence[Document]) -> list[str]:
    """What ``previous`` grants that ``current`` does not, one "action on resource" line each (sorted)."""
    from sfn_iam.fixing import residual  # here: only a change of a policy compares grants (not a create)

    needs = [g for d in current for g in residual.grants(d)]
    return sorted({line for d in previous for line in residual.excess(d, needs)})


def document(previous: Sequence[Document], carried: Document | None, since: str, since_from: str = "") -> Document:
    """The retiring policy: the Allow statements of ``previous`` and of the retiring policy it replaces (``carried``),
    each once, in a deterministic order. Nothing else is added or widened.

    Each statement's Sid records the window of execution start times that may need it (:func:`window`): the
    statements of ``previous`` were needed by executions started from ``since_from`` (when the definition they were
    planned for became current, as far as the fixer knows; ``""``: since ever) until ``since``; a carried statement
    keeps its own window, and one in both gets the union of the two (the earliest start, the latest end), so a past
    definition's grants stay exactly as long as an execution started under it runs (:func:`prune`)."""
    bodies: dict[str, tuple[str, dict[str, Any], str, str]] = {}
    sources = [(d, (since_from, since)) for d in previous] + \
        ([(carried, None)] if carried is not None else [])
    for doc, given in sources:
        for s in _statements(doc):
            if s.get("Effect") != "Allow":
                continue
            frame = given or window(s) or ("", since)
            body = {k: v for k, v in s.items() if k != "Sid"}
            key = json.dumps(body, sort_keys=True)
            original = re.sub(r"[^A-Za-z0-9]", "", _STAMP.sub("", str(s.get("Sid", ""))))[:64]
            if key in bodies:
                known = bodies[key]
                start = "" if not known[2] or not frame[0] else min(known[2], frame[0])
                bodies[key] = (known[0], body, start, max(known[3], frame[1]))
            else:
                bodies[key] = (original, body, *frame)
    out: list[dict[str, Any]] = []
    used: set[str] = set()
    for key in sorted(bodies):
        original, body, start, until = bodies[key]
        prefix = stamp(until) + (stamp(start).replace(SID_PREFIX, "From") if start else "")
        sid = prefix + original
        n = 1
        while sid in used:
            sid, n = f"{prefix}{original}N{n}", n + 1
        used.add(sid)
        out.append({"Sid": sid, **body})
    return policy.document(out)


def prune(document: Document, old: OldExecutions) -> Document:
    """``document`` without the statements no running execution may need: kept when an execution that started within
    the statement's window (plus the grace) is running, or when the listing cannot rule one out (an error, the page
    bound, or a window older than the oldest execution the listing returned)."""
    if old.unknown:
        return document
    starts = sorted(old.started)
    kept = []
    for s in _statements(document):
        frame = window(s)
        if frame is None:
            kept.append(s)
            continue
        since, until = frame
        end = later(until, GRACE_SECONDS)
        listed = any(since <= t < end for t in starts)
        unlisted = not old.complete and (not starts or since < starts[0])
        if listed or unlisted:
            kept.append(s)
    return policy.document(kept) if len(kept) != len(_statements(document)) else document


# -- the use case step --------------------------------------------------------------------------------------------

class Retirement:
    """Keeps, checks and removes one machine's retiring policy during a fix (called by placement before its write)."""

    def __init__(self, running_before: Callable[[str, str], OldExecutions], roles: RolePolicyStore) -> None:
        self.running_before = running_before
        self.roles = roles

    def before_write(self, run: ChangeSet, sm: StateMachine, base: str, role: str, inline: list[str],
                     documents: tuple[Document, ...]) -> None:
        """Decide with the role's inline listing and the new documents, before the new policy replaces the old one.
        A retiring policy not written now (inline budget) is left in ``run.retiring`` for :meth:`after_write`."""
        prior = run.prior
        previous = prior.documents if prior is not None and role in prior.roles else ()
        self._decide(run, sm, base, role, inline, previous, documents)

    def on_left_role(self, run: ChangeSet, sm: StateMachine, base: str, role: str, inline: list[str]) -> bool:
        """A role the machine left (``UpdateStateMachine`` with a new ``roleArn``), before its policy is removed from
        it: executions that started before the move run under it, so everything the previous policy granted there is
        a loss. Only an inline previous policy is kept. ``True``: a retiring policy stays on the role (the ledger keeps
        the role, and every later fix checks it)."""
        prior = run.prior
        previous = prior.documents if prior is not None and role in prior.roles and base in inline else ()
        return self._decide(run, sm, base, role, inline, previous, (), left=True)

    def _decide(self, run: ChangeSet, sm: StateMachine, base: str, role: str, inline: list[str],
                previous: Sequence[Document], documents: tuple[Document, ...], *, left: bool = False) -> bool:
        """Keep, merge, leave or remove the retiring policy of ``base`` on ``role``; ``True`` when one stays."""
        name = naming.retiring_name(base)
        losses = lost(previous, documents) if previous and not same(list(previous), list(documents)) else []
        exists = name in inline
        if not losses and not exists:
            return False  # the common case: nothing taken away, nothing retiring; no call
        if sm.type == "EXPRESS":  # not listable; at most five minutes (module docstring)
            if exists:
                run.delete_inline(role, name)
            return False
        carried = self.roles.get_inline(role, name) if exists else None
        if losses and not run.changed_at:
            losses = []  # no time to record (no event time and no clock): nothing new is kept
        # A retiring policy already there may date from later than this change (a sweep's clock before a late event):
        # the merged policy keeps the later time, so it serves every execution either one served.
        since = max(run.changed_at, since_of(carried)) if losses else since_of(carried)
        if not since:
            if exists:
                run.delete_inline(role, name)
                run.findings.append(Finding.of("RETIRING_REMOVED", f"{name} on role {role} carries no retiring time "
                                               "the fixer wrote: removed"))
            return False
        old = self._listed(run, sm.arn, later(since, GRACE_SECONDS))
        if not old.running:
            if exists:
                run.delete_inline(role, name)
                run.findings.append(Finding.of("RETIRING_REMOVED", f"no execution that started before {since} is "
                                               f"running: {name} removed from role {role}"))
            return False
        if old.unknown:
            run.findings.append(Finding.of("EXECUTIONS_UNLISTED", f"executions started before {since} could not be "
                                           f"ruled out ({old.unknown[:200]}): the previous grants stay in {name} "
                                           f"on role {role}"))
        if not losses:
            return self._narrow(run, role, name, carried, old) if carried is not None else exists
        held = self._holds(role, base, inline, previous)
        if held is None:
            return exists  # the role carries nothing of the previous policy (it failed closed): nothing to keep
        if not held:
            run.findings.append(Finding.of("RETIRING_NOT_PLACED", f"role {role} does not carry the policy the fixer "
                                           f"wrote for the previous definition (edited by hand?): its grants are not "
                                           f"kept for executions started before {since}"))
            return exists
        start = since_of(carried)
        doc = prune(document(previous, carried, since, start if start < run.changed_at else ""), old)
        if not _statements(doc):  # no running execution started under any of the definitions it would keep
            return self._narrow(run, role, name, carried, old) if carried is not None else False
        if carried is not None and same(doc, carried):
            return True
        listed = ", ".join(losses[:MAX_LISTED]) + (f" and {len(losses) - MAX_LISTED} more"
                                                    if len(losses) > MAX_LISTED else "")
        where = f"on role {role}, which the machine left," if left else f"on role {role}"
        run.retiring_note = (f"executions that started before {since} may still run the previous definition: "
                             f"{'its grants are kept' if run.enforce else 'its grants would be kept'} in {name} "
                             f"{where} until they end ({listed})")
        run.retiring = (role, name, doc)
        # Written first (the old executions never go without the grants) only when the new policy then still fits
        # for sure: it replaces an inline policy at least as large (on a role the machine left: none). Otherwise the
        # new policy goes first and the retiring one takes what inline room is left.
        if base in inline and len(documents) <= 1 and (
                not documents or policy.size(documents[0]) <= policy.size(previous[0])):
            try:
                run.put_inline(role, name, doc)
            except PolicyLimitExceededError:
                return True  # after_write tries again once the new policy replaced (or left) the old one
            run.retiring = None
            run.findings.append(Finding.of("RETIRING_KEPT", run.retiring_note))
        return True

    def _narrow(self, run: ChangeSet, role: str, name: str, carried: Document, old: OldExecutions) -> bool:
        """The retiring policy without the grants of past definitions no running execution started under; removed
        when none is left. ``True`` when it stays."""
        kept = prune(carried, old)
        if kept is carried:
            return True
        if not _statements(kept):
            run.delete_inline(role, name)
            run.findings.append(Finding.of("RETIRING_REMOVED", f"no running execution started under a definition "
                                           f"{name} on role {role} kept grants for: removed"))
            return False
        run.put_inline(role, name, kept)  # a subset of what IAM holds: it fits
        run.findings.append(Finding.of("RETIRING_NARROWED", f"{name} on role {role} no longer keeps the grants of "
                                       "past definitions no running execution started under"))
        return True

    def old_executions(self, run: ChangeSet, arn: str, since: str) -> OldExecutions:
        """Is an execution of ``arn`` that started before ``since`` (plus the grace) running? Once per run."""
        return self._listed(run, arn, later(since, GRACE_SECONDS))

    def _listed(self, run: ChangeSet, arn: str, cutoff: str) -> OldExecutions:
        """One ``ListExecutions`` per machine and cutoff per run (the current role and a role it left share it)."""
        key = f"{arn} {cutoff}"
        if key not in run.listed:
            run.listed[key] = self.running_before(arn, cutoff)
        return run.listed[key]

    def after_write(self, run: ChangeSet) -> bool:
        """The retiring policy not written before the new policy: now, or not at all (fail closed). ``False`` when
        IAM refused it."""
        if run.retiring is None:
            return True
        role, name, doc = run.retiring
        run.retiring = None
        try:
            run.put_inline(role, name, doc)
        except PolicyLimitExceededError:
            run.findings.append(Finding.of("RETIRING_NOT_PLACED", f"{name} does not fit the inline budget of role "
                                           f"{role} next to the new policy ({policy.size(doc)} characters): "
                                           "executions that started before the change lose the previous grants"))
            return False
        run.findings.append(Finding.of("RETIRING_KEPT", run.retiring_note))
        return True

    def _holds(self, role: str, base: str, inline: list[str], previous: Sequence[Document]) -> bool | None:
        """Does IAM hold exactly the previous documents the ledger recorded (inline, or its overflow policies)?
        ``None``: it holds none of them (the previous policy could not be placed).

        The ledger records the documents planned for the inline budget; a machine in overflow had the same grants
        planned again for a managed policy's size (fixing/placement.py), so a statement's resources may be spread over
        more, smaller documents. Those are compared grant by grant (:func:`_granted`), read in order (numbered from 1
        without a gap) until they hold every previous grant or the next is missing: as many reads as were placed."""
        if base in inline:
            return len(previous) == 1 and same(self.roles.get_inline(role, base), previous[0])
        needed, held, i = _granted(previous), set(), 1
        while True:
            doc = self.roles.get_managed(naming.overflow_name(base, i))
            if doc is None:
                return None if i == 1 else False
            held |= _granted((doc,))
            if needed <= held:
                return held == needed
            i += 1


def _granted(documents: Sequence[Document]) -> set[tuple[bool, bool, str, str, str]]:
    """What ``documents`` allow, one entry per action, resource and condition, however the statements are split or
    ordered (NotAction and NotResource marked: the ledger's documents have none, so such a grant never compares
    equal)."""
    from sfn_iam.fixing import residual  # here: only a change of a policy compares grants (not a create)

    return {(g.not_action, g.not_resource, a, r, g.condition) for d in documents for g in residual.grants(d)
            for a in g.actions for r in g.resources}
