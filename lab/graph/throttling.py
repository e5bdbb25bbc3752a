"""Intune's Graph throttling budgets, enforced when config `throttle_budgets` is on (off by default).

Source: Microsoft Graph service-specific throttling limits, "Intune service limits"
(https://learn.microsoft.com/graph/throttling-limits; microsoft-graph-docs-contrib
includes/throttling-intune-device-enrollment.md): per 20 seconds, 100 writes (POST, PUT, DELETE, PATCH) and
1000 requests of any kind per app per tenant; 200 writes and 2000 requests per tenant for all apps.

Lab choices where the source is silent (README, "Throttling budgets"): sliding windows on the lab clock;
a refused request counts against the budgets as well ("all requests accrue against your usage limits",
Graph's throttling guidance); Retry-After is the whole number of seconds until every budget the request
falls under has room again, counting the refused request; only Intune paths (deviceManagement,
deviceAppManagement) are budgeted. `throttle_window` scales the 20 seconds (budgets stay per window) so a
benchmark can run a 10,000-device import in minutes."""

import math
from collections import deque
from dataclasses import dataclass

DOCUMENTED_WINDOW_SECONDS = 20
INTUNE_ROOTS = ("deviceManagement", "deviceAppManagement")


@dataclass(frozen=True)
class Budget:
    scope: str           # "app": per app (token appid) in the tenant; "tenant": all apps together
    writes_only: bool    # True: POST/PUT/PATCH/DELETE only; False: every request
    limit: int           # requests per window

    @property
    def name(self):
        return f"{self.scope} {'writes' if self.writes_only else 'requests'}"


BUDGETS = (Budget("app", True, 100), Budget("app", False, 1000),
           Budget("tenant", True, 200), Budget("tenant", False, 2000))


def budgeted(segments):
    """True for a Graph path ([version, root, ...]) Intune's budgets apply to."""
    return len(segments) > 1 and segments[1] in INTUNE_ROOTS


class Throttle:
    """The lab-clock times of the requests each budget has seen within the last window."""

    def __init__(self):
        self.seen = {}   # (budget, app id or None for the tenant) -> deque of lab times, oldest first

    def admit(self, now, window, app_id, is_write):
        """Count the request; None when every budget had room, else (Retry-After seconds, the budget that
        refused first). A refused request is counted too, and the wait accounts for it."""
        queues = []
        for budget in BUDGETS:
            if budget.writes_only and not is_write:
                continue
            queue = self.seen.setdefault((budget, app_id if budget.scope == "app" else None), deque())
            while queue and queue[0] <= now - window:
                queue.popleft()
            queues.append((budget, queue))
        over = [(budget, queue) for budget, queue in queues if len(queue) >= budget.limit]
        for _budget, queue in queues:
            queue.append(now)
        if not over:
            return None
        # Room again once all but limit - 1 of the times in the window (this request's included) expire.
        frees_at = max(queue[len(queue) - budget.limit] + window for budget, queue in over)
        return max(1, math.ceil(frees_at - now)), over[0][0].name
