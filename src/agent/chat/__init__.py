"""Chat: a conversation over the agent loop, its compaction and its saved sessions."""
