"""What may be granted automatically: the face of the guardrails. Pure core: standard library and package data.

A reader finds each rule by its module:

* ``ceiling.py`` — the allow-list the account's security team owns (an IAM policy document; the reviewed default
  in ``data/ceiling.json``), checked per grant and rendered as the permissions boundary IAM enforces;
* ``shape.py`` — what a grant must look like whatever the ceiling says (literal actions, the documented exceptions,
  the wildcard rule);
* ``lists.py`` — the second line: the deny-list, the IAM reference's access levels, the sensitive services;
* ``roles.py`` — which literal roles may be passed or assumed, and what makes a role admin-equivalent;
* ``guard.py`` — the order they are applied in (:func:`apply`) and the settings (:class:`GuardPolicy`).
"""

from sfn_iam.engine.guardrails.ceiling import Ceiling, CeilingError
from sfn_iam.engine.guardrails.guard import GuardPolicy, apply, proposal
from sfn_iam.engine.guardrails.lists import (
    DEFAULT_DENY,
    PERMISSIONS_MANAGEMENT,
    SENSITIVITY,
    DenyEntry,
    Sensitivity,
    access_level,
)
from sfn_iam.engine.guardrails.roles import admin_equivalence, roles_to_verify
from sfn_iam.engine.guardrails.shape import access_class, covers_container, credential_roles, wildcard_problem

__all__ = [
    "DEFAULT_DENY",
    "PERMISSIONS_MANAGEMENT",
    "SENSITIVITY",
    "Ceiling",
    "CeilingError",
    "DenyEntry",
    "GuardPolicy",
    "Sensitivity",
    "access_class",
    "access_level",
    "admin_equivalence",
    "apply",
    "covers_container",
    "credential_roles",
    "proposal",
    "roles_to_verify",
    "wildcard_problem",
]
