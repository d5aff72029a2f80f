"""Policy: what the agent may do (permissions), and the shell parsing and rules behind it."""
