"""Decide who may read or do what: roles, accounts, the audit log (no Flask, no Dash here)."""
