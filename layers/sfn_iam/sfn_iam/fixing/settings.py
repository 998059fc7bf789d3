"""Settings of the role fixer, read once from a mapping such as ``os.environ`` and validated.

Standard library only: the caller passes the mapping, so tests and the CLI never touch the process environment.
Every variable is set by ``template.yaml`` from a stack parameter (see docs/local-invoke.md for the table).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sfn_iam.arns import ArnError, parse_role_arn
from sfn_iam.engine.guardrails import GuardPolicy, bad_role_patterns, default_passable_roles
from sfn_iam.fixing import naming


class Mode(enum.StrEnum):
    ENFORCE = "enforce"  # write policies
    REPORT = "report"  # write nothing; publish what would change


class ConfigError(ValueError):
    """A setting is missing or invalid; the function refuses to start rather than guess."""


_PATH = re.compile(r"^/(?:[\x21-\x7e]+/)*$")
_ACCOUNT = re.compile(r"^\d{12}$")
_SERVICE = re.compile(r"^[a-z0-9-]+$")
_ACTION = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$")


@dataclass(frozen=True, slots=True)
class Settings:
    account: str
    mode: Mode = Mode.ENFORCE
    role_path: str = "/"
    opt_out_tag: str = "sfn-iam:opt-out"
    policy_prefix: str = "sfn-iam."
    fixer_role_arn: str = ""
    guard: GuardPolicy = field(default_factory=GuardPolicy)
    max_attached: int = 10  # IAM's default quota of managed policies per role
    describe_attempts: int = 4  # DescribeStateMachine is eventually consistent right after a create
    describe_delay: float = 1.0  # seconds, doubled per attempt
    event_bus: str = "default"
    managed_path: str = "/sfn-iam/"  # IAM path of our customer-managed overflow policies
    # -- the ledger (docs/adr/0006) --
    ledger_table: str = ""  # DynamoDB table of which roles carry which machine's policies; empty: no ledger
    # -- facts from the account (docs/facts.md) --
    resolve_facts: bool = True  # ask the account what the definition implies (task roles, keys, work groups)
    max_facts: int = 25  # distinct facts read per event at most
    # -- adoption and residual access (fixing/residual.py) --
    scope_tag: str = "sfn-iam:managed"  # a role tagged <scope_tag>=true is in scope whatever its path
    remove_residual: bool = False  # the sweep (enforce) removes other policies of exclusively-ours roles
    # -- passed and assumed roles (fixing/passable.py) --
    verify_roles: bool = True  # read each literal role a machine passes or assumes; refuse admin-equivalent ones
    max_roles: int = 10  # distinct roles of this account read per machine; beyond, refused

    @property
    def enforce(self) -> bool:
        return self.mode is Mode.ENFORCE


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def number(env: Mapping[str, str], key: str, default: float, low: float, high: float) -> float:
    """``env[key]`` as a number within ``low..high`` (``default`` when unset); the one parser of numeric settings
    (the fixer's here, the sweep's in ``governance.sweep.options_from_env``)."""
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{key}={raw!r} is outside {low}..{high}")
    return value


def from_env(env: Mapping[str, str]) -> Settings:
    """Validated :class:`Settings`; raises :class:`ConfigError` naming the bad variable."""
    account = env.get("ACCOUNT_ID", "").strip()
    if not _ACCOUNT.match(account):
        raise ConfigError(f"ACCOUNT_ID={account!r} is not a 12-digit account id")
    try:
        mode = Mode(env.get("MODE", "enforce").strip().lower() or "enforce")
    except ValueError:
        raise ConfigError(f"MODE={env.get('MODE')!r}; expected enforce or report") from None
    role_path = env.get("ROLE_PATH", "/").strip() or "/"
    if not _PATH.match(role_path) or len(role_path) > 512:
        raise ConfigError(f"ROLE_PATH={role_path!r} must start and end with '/'")
    prefix = env.get("POLICY_NAME_PREFIX", "sfn-iam.").strip()
    if not naming.valid_prefix(prefix):
        raise ConfigError(f"POLICY_NAME_PREFIX={prefix!r} must be 1-32 characters of [A-Za-z0-9_+=,.@-]")
    tag = env.get("OPT_OUT_TAG_KEY", "sfn-iam:opt-out").strip()
    if not tag or len(tag) > 128:
        raise ConfigError("OPT_OUT_TAG_KEY must be 1-128 characters")
    fixer_role = env.get("FIXER_ROLE_ARN", "").strip()
    if fixer_role:
        try:
            parse_role_arn(fixer_role)
        except ArnError as exc:
            raise ConfigError(f"FIXER_ROLE_ARN: {exc}") from None
    denied = _list(env.get("EXTRA_DENIED_ACTIONS", ""))
    bad = [a for a in denied if not _ACTION.match(a)]
    if bad:
        raise ConfigError(f"EXTRA_DENIED_ACTIONS has entries that are not service:Action patterns: {bad}")
    services = _list(env.get("ALLOWED_SERVICES", ""))
    bad = [s for s in services if not _SERVICE.match(s.lower())]
    if bad:
        raise ConfigError(f"ALLOWED_SERVICES has entries that are not IAM service prefixes: {bad}")
    # Class 7: the literal roles a workflow may pass or assume; empty means the roles of our scope.
    passable = _list(env.get("PASSABLE_ROLE_PATTERNS", "")) or list(default_passable_roles(account, role_path))
    bad = bad_role_patterns(passable)
    if bad:
        raise ConfigError(f"PASSABLE_ROLE_PATTERNS has entries that are not IAM role ARN patterns: {bad}")
    managed_path = env.get("MANAGED_POLICY_PATH", "/sfn-iam/").strip() or "/sfn-iam/"
    if not _PATH.match(managed_path) or managed_path == "/":
        raise ConfigError(f"MANAGED_POLICY_PATH={managed_path!r} must be a path of its own, like /sfn-iam/")
    return Settings(
        account=account,
        mode=mode,
        role_path=role_path,
        opt_out_tag=tag,
        policy_prefix=prefix,
        fixer_role_arn=fixer_role,
        guard=GuardPolicy.build(denied, services or None, passable),
        max_attached=int(number(env, "MAX_ATTACHED_POLICIES", 10, 1, 20)),
        describe_attempts=int(number(env, "DESCRIBE_ATTEMPTS", 4, 1, 10)),
        describe_delay=number(env, "DESCRIBE_RETRY_DELAY", 1.0, 0, 30),
        event_bus=env.get("EVENT_BUS_NAME", "default").strip() or "default",
        managed_path=managed_path,
        ledger_table=_ledger_table(env),
        resolve_facts=_flag(env, "RESOLVE_FACTS", True),
        max_facts=int(number(env, "MAX_FACTS_PER_EVENT", 25, 0, 200)),
        scope_tag=_scope_tag(env),
        remove_residual=_flag(env, "REMOVE_RESIDUAL_POLICIES", False),
        verify_roles=_flag(env, "VERIFY_PASSED_ROLES", True),
        max_roles=int(number(env, "MAX_ROLES_PER_MACHINE", 10, 1, 50)),
    )


# -- the ledger (docs/adr/0006) ----------------------------------------------------------------------------------

_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def _ledger_table(env: Mapping[str, str]) -> str:
    table = env.get("LEDGER_TABLE_NAME", "").strip()
    if table and not _TABLE.match(table):
        raise ConfigError(f"LEDGER_TABLE_NAME={table!r} is not a DynamoDB table name")
    return table


# -- facts from the account (docs/facts.md) -----------------------------------------------------------------------

def _flag(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw not in ("true", "false"):
        raise ConfigError(f"{key}={raw!r}; expected true or false")
    return raw == "true"


# -- adoption and residual access (fixing/residual.py) -----------------------------------------------------------

def _scope_tag(env: Mapping[str, str]) -> str:
    tag = env.get("ROLE_SCOPE_TAG_KEY", "sfn-iam:managed").strip()
    if len(tag) > 128 or tag.lower().startswith("aws:"):
        raise ConfigError("ROLE_SCOPE_TAG_KEY must be at most 128 characters and not start with aws: (empty: no tag "
                          "scope)")
    return tag

