"""Settings of the role fixer, read once from a mapping such as ``os.environ`` and validated.

Standard library only: the caller passes the mapping, so tests and the CLI never touch the process environment.
Every variable is set by ``template.yaml`` from a stack parameter (see docs/local-invoke.md for the table).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from sfn_iam.arns import ArnError, parse_role_arn
from sfn_iam.engine.guardrails import GuardPolicy, ceiling
from sfn_iam.fixing import naming


class Mode(enum.StrEnum):
    ENFORCE = "enforce"  # write policies
    REPORT = "report"  # write nothing; publish what would change


class ConfigError(ValueError):
    """A setting is missing or invalid; the function refuses to start rather than guess."""


_PATH = re.compile(r"^/(?:[\x21-\x7e]+/)*$")
_ACCOUNT = re.compile(r"^\d{12}$")
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?:\d{12}|aws):policy/[\x21-\x7e]+$")
# Settings the ceiling replaced: set, they stop the function with the way to write them into a ceiling.
_REPLACED = ("EXTRA_DENIED_ACTIONS", "ALLOWED_SERVICES", "PASSABLE_ROLE_PATTERNS")
# The default guardrails, one instance shared by every Settings built without any (it is never changed in place:
# what it remembers of denied actions depends on its fields alone).
_DEFAULT_GUARD = GuardPolicy()


class Settings(NamedTuple):
    """A ``typing.NamedTuple``: a dataclass cost the cold start ~1.5 ms to create (docs/performance.md)."""

    account: str
    mode: Mode = Mode.ENFORCE
    role_path: str = "/"
    opt_out_tag: str = "sfn-iam:opt-out"
    policy_prefix: str = "sfn-iam."
    fixer_role_arn: str = ""
    guard: GuardPolicy = _DEFAULT_GUARD
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
    verify_roles: bool = True  # read each literal role a machine passes or assumes; refuse those beyond the ceiling
    max_roles: int = 10  # distinct roles of this account read per machine; beyond, refused
    # -- the ceiling (engine/guardrails/ceiling.py, fixing/boundary.py) --
    ceiling_arn: str = ""  # the managed policy every managed role carries as its permissions boundary; empty: none
    custom_ceiling: bool = False  # the ceiling is the administrator's own policy: the composition root reads it
    stack_name: str = ""  # fills the default ceiling's ${AWS::StackName} (the product's own resources)

    def with_ceiling(self, document: Mapping[str, Any], source: str) -> Settings:
        """These settings with the administrator's ceiling (read from IAM by the composition root)."""
        parsed = ceiling.parse(document, source=source, variables=self._variables())
        return self._replace(guard=self.guard._replace(ceiling=parsed))

    def _variables(self) -> dict[str, str]:
        return {"AWS::AccountId": self.account, "AWS::StackName": self.stack_name,
                "ManagedPolicyPath": self.managed_path}

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
    for legacy in _REPLACED:
        if env.get(legacy, "").strip():
            raise ConfigError(f"{legacy} is replaced by the ceiling: write it as a statement of a ceiling policy of "
                              "your own and deploy with CeilingPolicyArn (docs/security.md, 'Extending the ceiling')")
    ceiling_arn = env.get("CEILING_POLICY_ARN", "").strip()
    if ceiling_arn and not _POLICY_ARN.match(ceiling_arn):
        raise ConfigError(f"CEILING_POLICY_ARN={ceiling_arn!r} is not a managed policy ARN")
    stack = env.get("STACK_NAME", "").strip()
    managed_path = env.get("MANAGED_POLICY_PATH", "/sfn-iam/").strip() or "/sfn-iam/"
    if not _PATH.match(managed_path) or managed_path == "/":
        raise ConfigError(f"MANAGED_POLICY_PATH={managed_path!r} must be a path of its own, like /sfn-iam/")
    settings = Settings(
        account=account,
        mode=mode,
        role_path=role_path,
        opt_out_tag=tag,
        policy_prefix=prefix,
        fixer_role_arn=fixer_role,
        guard=GuardPolicy(ceiling.default(account=account, stack=stack, managed_path=managed_path),
                          verified_roles=_flag(env, "VERIFY_PASSED_ROLES", True)),
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
        ceiling_arn=ceiling_arn,
        custom_ceiling=_flag(env, "CUSTOM_CEILING", False),
        stack_name=stack,
    )
    if settings.custom_ceiling and not ceiling_arn:
        raise ConfigError("CUSTOM_CEILING=true needs CEILING_POLICY_ARN (the administrator's ceiling policy)")
    return settings


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

