"""Scheduled tasks: one-off jobs run at a time, through EventBridge schedules, SQS delays and workers."""
