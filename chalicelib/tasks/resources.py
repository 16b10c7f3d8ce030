"""The tasks table, its stream and the queue the workers read (see chalicelib/resources.py).

`by-due` (status, due_at) is how the sweeper finds work: pending tasks due soon, queued tasks
whose message was lost, running tasks whose worker died. `by-owner` (owner_id, created_key)
lists a user's tasks newest first. The stream is the early dispatcher's trigger and outbox.
"""

from chalicelib.resources import Index, Key, QueueSpec, TableSpec, declare

TASKS_TABLE = TableSpec(
    key="tasks",
    hash_key=Key("task_id"),
    indexes=(
        Index("by-due", Key("status"), Key("due_at", "N")),
        Index("by-owner", Key("owner_id"), Key("created_key")),
    ),
    stream=True,
    stream_failure_queue="tasks-stream-failures",
)
TASKS_QUEUE = "tasks"

declare(
    TASKS_TABLE,
    # Longer than any run may take (TASKS_TIME_LIMIT_S is capped below it), so a message is
    # never redelivered while its task runs.
    QueueSpec(key=TASKS_QUEUE, visibility_timeout_s=900, max_receive_count=5),
    QueueSpec(key="tasks-stream-failures", dead_letter=False),
)
