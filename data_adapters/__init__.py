"""Poll each data source on its own interval and keep its last good snapshot (no Dash here)."""
