"""The audit log: every user, cart, order and payment event, kept once each, readable by administrators."""
