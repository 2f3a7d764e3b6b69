"""Keep the street's registries, feeds, alerts and cases in SQL through SQLAlchemy."""
