"""Street digital cockpit: registries, live state, rules and screens of one sub-district."""
