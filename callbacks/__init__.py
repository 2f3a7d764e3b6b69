"""Register thin callbacks: read a view model, return it or no_update; never run SQL."""
