"""Resources of the probe app, declared the way the platform's contexts declare theirs."""

from chalicelib.resources import Key, QueueSpec, TableSpec, declare

declare(
    TableSpec(key="probe", hash_key=Key("pk"), stream=True, stream_failure_queue="probe-stream-failures"),
    QueueSpec(key="probe-jobs", visibility_timeout_s=30, max_receive_count=2),
    QueueSpec(key="probe-stream-failures", dead_letter=False),
)
