"""Measure the cockpit: each module prints its figures with the command that produced them."""
