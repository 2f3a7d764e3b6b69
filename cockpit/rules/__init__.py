"""Evaluate the street's rules as pure functions of facts, thresholds and a given time."""
