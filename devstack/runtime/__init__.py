"""The event runtime: delivers stream records, queue messages and schedules to the handlers
Chalice registered, as Lambda's event source mappings and EventBridge would."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice import Chalice
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

from chalicelib import clients, resources
from chalicelib.config import Settings
from devstack.runtime.invoker import Invoker
from devstack.runtime.loop import Loop
from devstack.runtime.queues import QueuePoller
from devstack.runtime.schedules import Clock, Schedule, Scheduler, Timings, utcnow
from devstack.runtime.streams import StreamPoller
from devstack.runtime.wakeup import stream_writes

log = logging.getLogger("devstack.runtime")


@dataclass(frozen=True)
class RuntimeOptions:
    stream_poll_s: float = 0.2
    stream_max_attempts: int = 3
    stream_backoff_s: float = 0.5
    sqs_retry_delay_s: int = 1


def _table_name(stream_arn: str) -> str:
    # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
    return stream_arn.split(":", 5)[-1].split("/")[1]


def source_identity(source: Any) -> tuple[Any, ...]:
    """What makes two event sources the same mapping: kind and every setting."""
    fields = dict(vars(source))
    if isinstance(source, ScheduledEventConfig):
        fields["schedule_expression"] = Schedule(source.schedule_expression).expression
    return (type(source).__name__, *sorted((name, repr(value)) for name, value in fields.items()))


class EventRuntime:
    def __init__(
        self,
        app: Chalice,
        settings: Settings,
        options: RuntimeOptions,
        clock: Clock = utcnow,
        timings: Timings | None = None,
        on_timings: Callable[[Timings], None] | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.options = options
        self.invoker = Invoker(app, settings.aws_region)
        self.scheduler = Scheduler(
            self.invoker, settings.aws_region, clock=clock, timings=timings, on_change=on_timings
        )
        self.pollers: list[Loop] = []

    def _table_spec(self, stream_arn: str) -> resources.TableSpec | None:
        table = _table_name(stream_arn)
        return next((s for s in resources.TABLES.values() if s.table_name(self.settings) == table), None)

    def _failure_queue_url(self, spec: resources.TableSpec | None) -> str | None:
        if spec is None or not spec.stream_failure_queue:
            return None
        name = resources.queue_name(spec.stream_failure_queue, self.settings)
        return clients.aws("sqs", self.settings).get_queue_url(QueueName=name)["QueueUrl"]

    def _stream_poller(self, config: DynamoDBEventConfig) -> StreamPoller:
        if config.stream_arn.endswith("/stream/unresolved"):
            raise RuntimeError(
                f"{config.name}: no stream ARN for table {_table_name(config.stream_arn)}; "
                "was the app imported before the bootstrap set STREAM_ARN_*?"
            )
        spec = self._table_spec(config.stream_arn)
        return StreamPoller(
            config,
            self.invoker,
            clients.aws("dynamodbstreams", self.settings),
            clients.aws("sqs", self.settings),
            self.settings.aws_region,
            self._failure_queue_url(spec),
            interval_s=self.options.stream_poll_s,
            max_attempts=(spec.stream_max_attempts if spec and spec.stream_max_attempts else None)
            or self.options.stream_max_attempts,
            backoff_s=self.options.stream_backoff_s,
            wakeup=stream_writes[_table_name(config.stream_arn)],
        )

    def _queue_poller(self, config: SQSEventConfig) -> QueuePoller:
        sqs = clients.aws("sqs", self.settings)
        name = config.queue or str(config.queue_arn).rsplit(":", 1)[-1]
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return QueuePoller(
            config, self.invoker, sqs, url, arn, self.settings.aws_region, retry_delay_s=self.options.sqs_retry_delay_s
        )

    def _poller(self, source: Any) -> Loop | None:
        if isinstance(source, DynamoDBEventConfig):
            return self._stream_poller(source)
        if isinstance(source, SQSEventConfig):
            return self._queue_poller(source)
        if isinstance(source, ScheduledEventConfig):
            self.scheduler.add(source)
        else:
            log.warning("event source not delivered locally", extra={"handler": source.name})
        return None

    def start(self) -> None:
        self.pollers = [poller for poller in map(self._poller, self.app.event_sources) if poller is not None]
        if self.scheduler.rules:
            self.pollers.append(self.scheduler)
            self.scheduler.changed()
        for poller in self.pollers:
            poller.start()

    def serve(self, app: Chalice) -> dict[str, list[str]]:
        """Deliver to `app`'s handlers from now on (a code reload). A stream or queue mapping
        whose settings did not change keeps its poller, and so its place in the stream; one that
        is new starts, one that went away stops. Schedules keep their timing."""
        wanted = {source_identity(source): source for source in app.event_sources}
        running = {source_identity(p.config): p for p in self.pollers if isinstance(p, StreamPoller | QueuePoller)}
        self.app = self.invoker.app = app
        for identity in running.keys() - wanted.keys():
            running[identity].stop()
            self.pollers.remove(running[identity])
        self.scheduler.kept = self.scheduler.timings()
        self.scheduler.rules.clear()
        started = []
        for identity in wanted.keys() - running.keys():
            poller = self._poller(wanted[identity])
            if poller is not None:
                self.pollers.insert(0, poller)
                poller.start()
                started.append(poller.name)
        if self.scheduler.rules and self.scheduler not in self.pollers:
            self.pollers.append(self.scheduler)
            self.scheduler.start()
        self.scheduler.changed()
        return {
            "started": started,
            "stopped": [running[i].name for i in running.keys() - wanted.keys()],
            "kept": [running[i].name for i in running.keys() & wanted.keys()],
        }

    def stop(self) -> None:
        # All at once: each may be in a long poll of its own.
        for poller in self.pollers:
            poller.request_stop()
        for poller in self.pollers:
            poller.join()

    def drain(self, timeout_s: float) -> bool:
        """Wait (up to `timeout_s`) until every stream handler has been given every write so far."""
        deadline = time.monotonic() + timeout_s
        while not self.status()["streams_caught_up"]:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def status(self) -> dict[str, Any]:
        return {
            "pollers": [poller.name for poller in self.pollers],
            "streams_caught_up": all(p.caught_up for p in self.pollers if isinstance(p, StreamPoller)),
            "schedules": {
                name: {"expression": rule.schedule.expression, "next_fire": rule.next_fire.isoformat()}
                for name, rule in self.scheduler.rules.items()
            },
            "handlers": {name: vars(stats) for name, stats in self.invoker.stats.items()},
        }
