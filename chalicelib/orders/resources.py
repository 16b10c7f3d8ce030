"""The orders context's resources: one table (carts, orders, payments, idempotency records, the
simulated provider's ledger, consumer inbox) listed per user through gsi1, its stream as the
outbox of cart/order/payment events, and the queue of the order confirmation mailer."""

from chalicelib.resources import EventRule, Index, Key, QueueSpec, TableSpec, declare

CONFIRMATION_QUEUE = "order-confirmations"
ORDERS_TABLE = TableSpec(
    key="orders",
    hash_key=Key("pk"),
    range_key=Key("sk"),
    indexes=(
        Index("gsi1", Key("gsi1pk"), Key("gsi1sk")),
        # Unpaid orders by when they expire, for the sweeper (sparse: only unpaid orders have the key).
        Index("by-pay-by", Key("unpaid_key"), Key("pay_by", "N")),
    ),
    stream=True,
    ttl_attribute="expires_at",
    stream_failure_queue="orders-stream-failures",
)

declare(
    ORDERS_TABLE,
    QueueSpec(key="orders-stream-failures", dead_letter=False),
    QueueSpec(key=CONFIRMATION_QUEUE),
    EventRule(key="order-confirmation-mail", detail_types=("order.created",), queue=CONFIRMATION_QUEUE),
)
