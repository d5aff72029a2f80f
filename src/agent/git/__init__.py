"""Git: plumbing, agent commits through a private index, snapshots and undo."""
