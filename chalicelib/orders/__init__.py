"""Orders: the Redis-cached cart, orders placed in one transaction, simulated card payments."""
