"""Test the pure rules of cockpit.rules."""
