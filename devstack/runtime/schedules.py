"""EventBridge schedules → `@app.schedule` handlers, on their rate() or cron() expression.

moto stores rules but never fires them; this does. Cron uses AWS's six-field dialect (with
`?`, `L`, `W`, `#`), parsed by pyawscron.
"""

from __future__ import annotations

import datetime
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice.app import ScheduledEventConfig, ScheduleExpression

from devstack.runtime import shapes
from devstack.runtime.invoker import Invoker
from devstack.runtime.loop import Loop

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}

Clock = Callable[[], datetime.datetime]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Schedule:
    """When an expression fires next after a given moment."""

    def __init__(self, expression: str | ScheduleExpression) -> None:
        self.expression = expression if isinstance(expression, str) else expression.to_string()
        # Refuse locally what EventBridge's PutRule would refuse at deploy.
        rate = _RATE.match(self.expression)
        if rate:
            value, unit = int(rate.group(1)), rate.group(2)
            if value < 1:
                raise ValueError(f"{self.expression}: a rate must be at least 1")
            if (value == 1) == unit.endswith("s"):
                raise ValueError(f"{self.expression}: the unit is singular for 1 and plural otherwise")
            self._period: datetime.timedelta | None = datetime.timedelta(
                seconds=value * _UNIT_SECONDS[unit.rstrip("s")]
            )
            self._cron: Any = None
        elif self.expression.startswith("cron(") and self.expression.endswith(")"):
            self._period = None
            self._cron = _aws_cron(self.expression[len("cron(") : -1])
        else:
            raise ValueError(f"{self.expression!r} is neither rate(...) nor cron(...)")

    def next_after(self, moment: datetime.datetime) -> datetime.datetime:
        if self._period is not None:
            return moment + self._period
        return self._cron.occurrence(moment.replace(microsecond=0)).next()


def _aws_cron(fields: str) -> Any:
    from pyawscron import AWSCron

    parts = fields.split()
    if len(parts) != 6:
        raise ValueError(f"cron({fields}): AWS cron has six fields (minutes hours day-of-month month day-of-week year)")
    if "?" not in (parts[2], parts[4]):
        raise ValueError(f"cron({fields}): one of day-of-month and day-of-week must be '?'")
    try:
        return AWSCron(fields)
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"cron({fields}): {exc}") from None


@dataclass
class ScheduledRule:
    config: ScheduledEventConfig
    schedule: Schedule
    next_fire: datetime.datetime
    rule_arn: str


Timings = dict[str, dict[str, str]]


class Scheduler(Loop):
    """Fires each rule when it is due. `timings` (from a previous run: name → expression and
    next_fire) keeps a rule's rhythm across restarts; `on_change` is told the timings whenever
    they change, before the rule they concern fires, so a restart never fires a tick twice."""

    def __init__(
        self,
        invoker: Invoker,
        region: str,
        clock: Clock = utcnow,
        interval_s: float = 0.2,
        timings: Timings | None = None,
        on_change: Callable[[Timings], None] | None = None,
    ) -> None:
        super().__init__("schedules", interval_s)
        self.invoker = invoker
        self.region = region
        self.clock = clock
        self.rules: dict[str, ScheduledRule] = {}
        self.kept = timings or {}
        self.on_change = on_change
        self._lock = threading.Lock()

    def add(self, config: ScheduledEventConfig) -> None:
        schedule = Schedule(config.schedule_expression)
        rule_arn = f"arn:aws:events:{self.region}:{shapes.ACCOUNT_ID}:rule/{self.invoker.app.app_name}-{config.name}"
        kept = self.kept.get(config.name)
        if kept is not None and kept["expression"] == schedule.expression:
            next_fire = datetime.datetime.fromisoformat(kept["next_fire"])
        else:
            next_fire = schedule.next_after(self.clock())
        self.rules[config.name] = ScheduledRule(config, schedule, next_fire, rule_arn)

    def timings(self) -> Timings:
        return {
            name: {"expression": rule.schedule.expression, "next_fire": rule.next_fire.isoformat()}
            for name, rule in self.rules.items()
        }

    def changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.timings())

    def step(self) -> None:
        now = self.clock()
        due = [rule for rule in list(self.rules.values()) if rule.next_fire <= now]
        for rule in due:
            # A rule that fell behind (the laptop slept, the stack was stopped) fires once, not
            # once per missed tick.
            rule.next_fire = rule.schedule.next_after(now)
        if due:
            self.changed()
        for rule in due:
            self._fire(rule, now)

    def fire(self, name: str) -> bool:
        """Fire one rule now, out of schedule (tests, `make tick`). False if no such rule."""
        rule = self.rules.get(name)
        if rule is None:
            return False
        self._fire(rule, self.clock())
        return True

    def _fire(self, rule: ScheduledRule, at: datetime.datetime) -> None:
        with self._lock:
            event = shapes.scheduled_event(rule.rule_arn, self.region, at)
            self.invoker.invoke(rule.config.name, event, source=f"schedule:{rule.schedule.expression}")
