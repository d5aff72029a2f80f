"""One module per CLI command group; each imports only typer at the top (start-up time)."""
