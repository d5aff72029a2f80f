"""The command line: the console script, the typer app, its commands, and the chat REPL."""
