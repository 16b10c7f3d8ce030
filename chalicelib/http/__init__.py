"""HTTP plumbing shared by every context: problems, headers, routing, request parsing."""
