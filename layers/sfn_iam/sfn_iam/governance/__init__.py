"""Account-wide governance over the role-fixing use case: the sweep, its per-sweep cache and the posture report."""
