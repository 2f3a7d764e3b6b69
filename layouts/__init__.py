"""Build page components as pure functions of view-model data and labels."""
