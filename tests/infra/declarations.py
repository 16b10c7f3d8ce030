"""Resources only the infrastructure tests declare, to cover what the platform has not declared
yet: a FIFO queue, a numeric key without a stream, and an event bus rule feeding a queue."""

from chalicelib.resources import EventBusSpec, Key, QueueSpec, TableSpec, declare

declare(
    TableSpec(key="infra-probe-counters", hash_key=Key("counter"), range_key=Key("bucket", "N")),
    QueueSpec(key="infra-probe-orders", fifo=True, max_receive_count=5, visibility_timeout_s=60),
    QueueSpec(key="infra-probe-audit"),
    EventBusSpec(key="infra-probe", rules=(("infra-probe-audit", ("user.", "order."), "infra-probe-audit"),)),
)
