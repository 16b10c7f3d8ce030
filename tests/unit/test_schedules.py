"""Schedule (rate/cron → next fire time) and the Scheduler driven by an injected clock."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from chalice import Chalice, Cron, Rate

from devstack.runtime.invoker import Invoker
from devstack.runtime.schedules import Schedule, Scheduler
from tests.unit.fakes import REGION, FakeClock

UTC = datetime.UTC


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


# --- Schedule


@pytest.mark.parametrize(
    ("expression", "delta"),
    [
        ("rate(1 minute)", datetime.timedelta(minutes=1)),
        ("rate(5 minutes)", datetime.timedelta(minutes=5)),
        ("rate(1 hour)", datetime.timedelta(hours=1)),
        ("rate(12 hours)", datetime.timedelta(hours=12)),
        ("rate(1 day)", datetime.timedelta(days=1)),
        ("rate(3 days)", datetime.timedelta(days=3)),
    ],
)
def test_rate_fires_one_period_after_the_moment(expression: str, delta: datetime.timedelta) -> None:
    moment = at(2024, 3, 1, 12, 0, 30)

    assert Schedule(expression).next_after(moment) == moment + delta


def test_cron_with_a_weekday_range_and_question_mark_skips_the_weekend() -> None:
    schedule = Schedule("cron(0 10 ? * MON-FRI *)")

    # 2024-03-01 is a Friday.
    assert schedule.next_after(at(2024, 3, 1, 9, 59, 59)) == at(2024, 3, 1, 10, 0)
    assert schedule.next_after(at(2024, 3, 1, 10, 0)) == at(2024, 3, 4, 10, 0)
    assert schedule.next_after(at(2024, 3, 2, 8, 0)) == at(2024, 3, 4, 10, 0)


def test_cron_next_is_strictly_after_the_moment_even_within_the_firing_second() -> None:
    schedule = Schedule("cron(*/15 * * * ? *)")

    assert schedule.next_after(at(2024, 3, 1, 12, 0)) == at(2024, 3, 1, 12, 15)
    assert schedule.next_after(at(2024, 3, 1, 12, 0, 0, 999_000)) == at(2024, 3, 1, 12, 15)
    assert schedule.next_after(at(2024, 3, 1, 12, 14, 59)) == at(2024, 3, 1, 12, 15)


def test_cron_with_a_day_of_month_and_question_mark_day_of_week() -> None:
    schedule = Schedule("cron(30 6 1 * ? *)")

    assert schedule.next_after(at(2024, 3, 1, 7, 0)) == at(2024, 4, 1, 6, 30)


@pytest.mark.parametrize(
    ("expression", "string"),
    [
        (Rate(1, unit=Rate.HOURS), "rate(1 hour)"),
        (Rate(10, unit=Rate.MINUTES), "rate(10 minutes)"),
        (Cron(0, 10, "?", "*", "MON-FRI", "*"), "cron(0 10 ? * MON-FRI *)"),
    ],
)
def test_chalice_schedule_objects_are_accepted(expression: Any, string: str) -> None:
    schedule = Schedule(expression)

    assert schedule.expression == string
    assert schedule.next_after(at(2024, 3, 1, 9, 0)) == Schedule(string).next_after(at(2024, 3, 1, 9, 0))


def test_chalice_rate_objects_fire_on_their_period() -> None:
    assert Schedule(Rate(2, unit=Rate.DAYS)).next_after(at(2024, 3, 1)) == at(2024, 3, 3)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "rate(5 weeks)",
        "rate(-1 minutes)",
        "rate(five minutes)",
        "rate(5minutes)",
        "every 5 minutes",
        "",
        "cron(a b c d e f)",
        "cron()",
    ],
)
def test_invalid_expressions_raise_value_error(expression: str) -> None:
    with pytest.raises(ValueError):
        Schedule(expression)


def test_an_out_of_range_cron_field_is_refused_when_the_rule_is_added() -> None:
    app = Chalice("sched")

    @app.schedule("cron(99 10 * * ? *)", name="bad")
    def bad(event: Any) -> None:
        pass

    scheduler = Scheduler(Invoker(app, REGION), REGION, clock=FakeClock())
    with pytest.raises(ValueError, match="minute"):
        scheduler.add(app.event_sources[0])


def test_a_five_field_cron_expression_raises_value_error() -> None:
    with pytest.raises(ValueError):
        Schedule("cron(0 10 * * *)")


@pytest.mark.parametrize(
    "expression",
    ["rate(5 minute)", "rate(1 minutes)", "cron(0 10 * * ? * *)", "cron(0 10 * * MON *)"],
)
def test_expressions_eventbridge_rejects_are_refused(expression: str) -> None:
    with pytest.raises(ValueError):
        Schedule(expression).next_after(at(2024, 3, 1))


# --- Scheduler


class SchedulerHarness:
    def __init__(self, *rules: tuple[str, Any], timings: dict[str, dict[str, str]] | None = None) -> None:
        self.app = Chalice("sched")
        self.fired: list[tuple[str, Any]] = []
        self.recorded: list[tuple[list[str], dict[str, dict[str, str]]]] = []
        for name, expression in rules:
            self._register(name, expression)
        self.clock = FakeClock(at(2024, 3, 1, 12, 0))
        self.invoker = Invoker(self.app, REGION)
        self.scheduler = Scheduler(self.invoker, REGION, clock=self.clock, timings=timings, on_change=self._record)
        for config in self.app.event_sources:
            self.scheduler.add(config)

    def _register(self, name: str, expression: Any) -> None:
        @self.app.schedule(expression, name=name)
        def handler(event: Any) -> None:
            self.fired.append((name, event))

    def names(self) -> list[str]:
        return [name for name, _ in self.fired]

    def _record(self, timings: dict[str, dict[str, str]]) -> None:
        """What the scheduler reported, and what had fired by then."""
        self.recorded.append((self.names(), timings))


def test_a_rule_is_first_due_one_period_after_it_is_added() -> None:
    h = SchedulerHarness(("every_minute", "rate(1 minute)"))

    assert h.scheduler.rules["every_minute"].next_fire == at(2024, 3, 1, 12, 1)
    h.scheduler.step()
    h.clock.advance(seconds=59)
    h.scheduler.step()
    assert h.fired == []

    h.clock.advance(seconds=1)
    h.scheduler.step()
    h.scheduler.step()  # same instant: not again
    assert h.names() == ["every_minute"]
    assert h.scheduler.rules["every_minute"].next_fire == at(2024, 3, 1, 12, 2)


def test_the_handler_receives_a_scheduled_event_through_chalice() -> None:
    h = SchedulerHarness(("nightly", "cron(0 0 * * ? *)"))
    h.clock.now = at(2024, 3, 2, 0, 0, 0)

    h.scheduler.step()

    ((_, event),) = h.fired
    assert event.detail_type == "Scheduled Event"
    assert event.source == "aws.events"
    assert event.region == REGION
    assert event.account == "123456789012"
    assert event.time == "2024-03-02T00:00:00Z"
    assert event.resources == ["arn:aws:events:us-east-1:123456789012:rule/sched-nightly"]
    assert event.detail == {}
    assert h.scheduler.rules["nightly"].next_fire == at(2024, 3, 3)


def test_a_rule_that_fell_behind_fires_once_not_once_per_missed_tick() -> None:
    h = SchedulerHarness(("every_minute", "rate(1 minute)"), ("quarterly", "cron(*/15 * * * ? *)"))

    h.clock.advance(hours=3, seconds=10)  # the laptop slept
    h.scheduler.step()
    h.scheduler.step()

    assert sorted(h.names()) == ["every_minute", "quarterly"]
    assert h.scheduler.rules["every_minute"].next_fire == at(2024, 3, 1, 15, 1, 10)
    assert h.scheduler.rules["quarterly"].next_fire == at(2024, 3, 1, 15, 15)


def test_each_rule_fires_on_its_own_schedule() -> None:
    h = SchedulerHarness(("fast", "rate(1 minute)"), ("slow", "rate(5 minutes)"))

    for _ in range(10):
        h.clock.advance(minutes=1)
        h.scheduler.step()

    assert h.names().count("fast") == 10
    assert h.names().count("slow") == 2
    assert vars(h.invoker.stats["slow"]) == {"invocations": 2, "errors": 0, "records": 2}


def test_fire_runs_a_rule_now_without_moving_its_schedule() -> None:
    h = SchedulerHarness(("hourly", Rate(1, unit=Rate.HOURS)))
    h.clock.advance(minutes=10)

    assert h.scheduler.fire("hourly") is True

    ((_, event),) = h.fired
    assert event.time == "2024-03-01T12:10:00Z"
    assert h.scheduler.rules["hourly"].next_fire == at(2024, 3, 1, 13, 0)


def test_fire_returns_false_for_an_unknown_rule() -> None:
    h = SchedulerHarness(("hourly", "rate(1 hour)"))

    assert h.scheduler.fire("no_such_rule") is False
    assert h.fired == []


def test_timings_from_a_previous_run_keep_a_rule_s_rhythm_across_a_restart() -> None:
    kept = {
        "hourly": {"expression": "rate(1 hour)", "next_fire": "2024-03-01T12:20:00+00:00"},
        # Its expression changed since: the kept time no longer applies.
        "daily": {"expression": "rate(2 days)", "next_fire": "2024-03-01T12:05:00+00:00"},
    }
    h = SchedulerHarness(("hourly", "rate(1 hour)"), ("daily", "rate(1 day)"), timings=kept)

    assert h.scheduler.rules["hourly"].next_fire == at(2024, 3, 1, 12, 20)
    assert h.scheduler.rules["daily"].next_fire == at(2024, 3, 2, 12, 0)
    h.clock.advance(minutes=20)
    h.scheduler.step()
    assert h.names() == ["hourly"]


def test_the_new_timing_is_recorded_before_the_rule_fires() -> None:
    """So a stack killed while a handler runs does not fire that tick again after its restart."""
    h = SchedulerHarness(("every_minute", "rate(1 minute)"))
    h.clock.advance(minutes=1)
    h.scheduler.step()
    assert h.names() == ["every_minute"]
    ((fired_then, timings),) = h.recorded
    assert fired_then == []
    assert timings == {"every_minute": {"expression": "rate(1 minute)", "next_fire": "2024-03-01T12:02:00+00:00"}}
