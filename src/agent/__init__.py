"""agent: a command-line coding agent with durable memory."""

__version__ = "0.1.0"
