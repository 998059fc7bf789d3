"""Output formats: ``text`` for people, ``json`` (one stable shape), ``sarif`` (GitHub code scanning), ``junit``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from sfn_iam import __version__
from sfn_iam.cli import FORMATS
from sfn_iam.findings import CODES, Finding, Severity

__all__ = ["FORMATS", "Report", "Result", "printable", "to_json", "to_junit", "to_sarif", "write_text"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/sfn-iam/sfn-iam"
# GitHub code scanning ranks security results by the rule's security-severity, a CVSS-like score as a string
# (https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning):
# over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, 0.1 to 3.9 low.
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "2.0",
                     Severity.INFO: "0.1"}


class Result:
    __slots__ = ("documents", "explain", "findings", "line", "lines", "placement", "source", "state_machine",
                 "suppressed", "withheld")

    def __init__(self, source: str, state_machine: str, documents: list[dict[str, Any]], findings: list[Finding],
                 line: int = 1, suppressed: list[tuple[Finding, str]] | None = None, explain: list[str] | None = None,
                 withheld: list[str] | None = None, placement: str = "",
                 lines: Callable[[str], tuple[str, int] | None] | None = None) -> None:
        self.source = source
        self.state_machine = state_machine
        self.documents = documents
        self.findings = findings
        self.line = line
        self.suppressed: list[tuple[Finding, str]] = [] if suppressed is None else suppressed
        self.explain: list[str] = [] if explain is None else explain
        # requests the policy does not grant, with what to supply
        self.withheld: list[str] = [] if withheld is None else withheld
        self.placement = placement  # where a split policy goes (customer-managed policies) and why
        # (source, line) of a finding's path: the state or the declaring statement; None: the state machine's line
        self.lines = lines


class Report:
    __slots__ = ("command", "errors", "notes", "results")

    def __init__(self, command: str, results: list[Result] | None = None, errors: list[tuple[str, str]] | None = None,
                 notes: list[str] | None = None) -> None:
        self.command = command  # "policy" or "check"
        self.results: list[Result] = [] if results is None else results
        self.errors: list[tuple[str, str]] = [] if errors is None else errors  # (source, message)
        # worth saying, not an error (no state machine, unused setting)
        self.notes: list[str] = [] if notes is None else notes


def printable(text: str) -> str:
    """``text`` with non-printable characters escaped. State names are attacker-chosen: a name holding terminal escape
    sequences or bidi overrides must not rewrite the reviewer's terminal or reorder what it shows."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


def to_json(report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {"results": [{
        "source": r.source,
        "stateMachine": r.state_machine,
        "documents": r.documents,
        "findings": [{"code": f.code, "severity": f.severity.name, "path": f.path, "message": f.message}
                     for f in r.findings],
        "suppressed": [{"code": f.code, "severity": f.severity.name, "path": f.path, "message": f.message,
                        "reason": reason} for f, reason in r.suppressed],
        **({"withheld": r.withheld} if r.withheld else {}),
        **({"placement": r.placement} if r.placement else {}),
    } for r in report.results]}
    out["errors"] = [{"source": s, "message": m} for s, m in report.errors]
    out["notes"] = list(report.notes)
    return out


_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note",
          Severity.INFO: "note"}


def _uri(source: str) -> str:
    return "stdin" if source == "-" else source.replace("\\", "/").removeprefix("./")


def _where(r: Result, f: Finding) -> tuple[str, int]:
    found = r.lines(f.path) if r.lines is not None and f.path else None
    return found if found is not None else (r.source, r.line)


def to_sarif(report: Report) -> dict[str, Any]:
    """SARIF 2.1.0: one run, one rule per finding code, one result per finding located at the line of the state (or
    the declaring statement) it is about, else at its state machine."""
    used = sorted({f.code for r in report.results for f in r.findings})
    rules = [{
        "id": code,
        "name": "".join(part.capitalize() for part in code.split("_")),
        "shortDescription": {"text": code.replace("_", " ").lower()},
        "helpUri": f"{INFORMATION_URI}/blob/main/docs/findings.md#{code.lower()}",
        "help": {"text": f"{code}: what it means and what to do: {INFORMATION_URI}/blob/main/docs/findings.md"
                         f"#{code.lower()}",
                 "markdown": f"[{code}]({INFORMATION_URI}/blob/main/docs/findings.md#{code.lower()}) in the finding "
                             "codes of sfn-iam"},
        "defaultConfiguration": {"level": _LEVEL[CODES[code]]},
        "properties": {"severity": CODES[code].name.lower(), "security-severity": SECURITY_SEVERITY[CODES[code]],
                       "tags": ["security", "iam", "least-privilege"]},
    } for code in used]
    index = {code: i for i, code in enumerate(used)}
    results = []
    for r in report.results:
        for f in r.findings:
            where = f"{r.state_machine}.{f.path}" if f.path else r.state_machine
            source, line = _where(r, f)
            results.append({
                "ruleId": f.code,
                "ruleIndex": index[f.code],
                "level": _LEVEL[f.severity],
                "message": {"text": f"{r.state_machine}: {f.message}" + (f" (at {f.path})" if f.path else "")},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": _uri(source)},
                                         "region": {"startLine": max(1, line)}},
                    "logicalLocations": [{"fullyQualifiedName": where, "kind": "member"}],
                }],
                "partialFingerprints": {"sfnIam/v1": f"{r.state_machine}|{f.code}|{f.path}|{f.message}"},
                "properties": {"severity": f.severity.name.lower(), "security-severity": SECURITY_SEVERITY[f.severity]},
            })
    notifications = [{"level": "error", "message": {"text": f"{s}: {m}"}} for s, m in report.errors]
    notifications += [{"level": "note", "message": {"text": n}} for n in report.notes]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "sfn-iam", "version": __version__, "informationUri": INFORMATION_URI,
                            "rules": rules}},
        "results": results,
    }
    if notifications:
        run["invocations"] = [{"executionSuccessful": not report.errors, "toolExecutionNotifications": notifications}]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def to_junit(report: Report, threshold: Severity | None) -> str:
    """One test case per state machine, failed by findings at or above ``threshold`` (the exit code's: none when
    ``--fail-on none``); unreadable inputs are errors."""
    from xml.sax.saxutils import escape, quoteattr  # only this format needs it

    cases = []
    failures = 0
    for r in report.results:
        failing = [f for f in r.findings if threshold is not None and f.severity >= threshold]
        body = "\n".join(printable(f.line()) for f in r.findings)
        inner = ""
        if failing:
            failures += 1
            assert threshold is not None
            message = f"{len(failing)} finding(s) at or above {threshold.name.lower()}"
            inner = f"<failure message={quoteattr(message)} type={quoteattr(failing[0].code)}>{escape(body)}</failure>"
        elif body:
            inner = f"<system-out>{escape(body)}</system-out>"
        cases.append(f'    <testcase classname={quoteattr(r.source)} name={quoteattr(r.state_machine)}>'
                     f"{inner}</testcase>")
    for source, message in report.errors:
        cases.append(f"    <testcase classname={quoteattr(source)} name=\"(input)\">"
                     f"<error message={quoteattr(message)} type=\"InputError\"/></testcase>")
    total = len(report.results) + len(report.errors)
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
            f"  <testsuite name={quoteattr('sfn-iam ' + report.command)} tests=\"{total}\" "
            f"failures=\"{failures}\" errors=\"{len(report.errors)}\">\n" + "\n".join(cases) +
            "\n  </testsuite>\n</testsuites>\n")


def write_text(report: Report, out: TextIO, err: TextIO) -> None:
    """For people. ``policy`` prints the policy of one state machine as before (a document, or an array when it
    needs several); with several state machines each is preceded by a ``# source: name`` line. Findings go to
    stderr for ``policy`` and to stdout for ``check``, whose findings are its output."""
    many = len(report.results) > 1
    for r in report.results:
        label = printable(f"{r.source}: {r.state_machine}")
        if report.command == "policy":
            if many:
                out.write(f"# {label}\n")
            docs: Sequence[dict[str, Any]] = r.documents or [{"Version": "2012-10-17", "Statement": []}]
            if r.documents or not any(f.code == "DEFINITION_ERROR" for f in r.findings):
                json.dump(docs[0] if len(docs) == 1 else list(docs), out, indent=2)
                out.write("\n")
            for f in r.findings:
                print(printable(f"{label}: {f.line()}" if many else f.line()), file=err)
            if r.placement:
                print(printable(f"{label}: {r.placement}" if many else r.placement), file=err)
            if r.withheld:
                prefix = f"{label}: " if many else ""
                print(printable(f"{prefix}INCOMPLETE: {len(r.withheld)} permission"
                                f"{'s' if len(r.withheld) != 1 else ''} withheld; this policy alone will not let "
                                "every state run:"), file=err)
                for line in r.withheld:
                    print(printable(f"  {line}"), file=err)
            for line in r.explain:
                print(printable(f"explain {line}"), file=err)
        else:
            counts = {code: sum(1 for f in r.findings if f.code == code)
                      for code in ("MISSING_GRANT", "UNVERIFIED_GRANT", "EXCESS_GRANT")}
            if any(f.code == "DEFINITION_ERROR" for f in r.findings) and not r.documents:
                summary = "invalid definition"
            elif any(f.code == "NOTHING_TO_COMPARE" for f in r.findings):
                summary = "nothing to compare"
            else:
                summary = (f"{counts['MISSING_GRANT']} missing, {counts['UNVERIFIED_GRANT']} cannot verify, "
                           f"{counts['EXCESS_GRANT']} excess")
            print(f"{label}: {summary}", file=out)
            for f in r.findings:
                print(printable(f"  {f.line()}"), file=out)
        for f, reason in r.suppressed:
            print(printable(f"suppressed {f.code}{' at ' + f.path if f.path else ''}: {reason}"), file=err)
    for source, message in report.errors:
        print(printable(f"sfn-iam: error: {message}" if source in message else f"sfn-iam: error: {source}: {message}"),
              file=err)
    for note in report.notes:
        print(printable(f"sfn-iam: note: {note}"), file=err)
