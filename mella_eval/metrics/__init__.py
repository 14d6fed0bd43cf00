"""Metrics: the registry of names (cheap to import) and the scorers behind them."""
