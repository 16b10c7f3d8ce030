"""Identity and access: users, tokens, API keys."""
