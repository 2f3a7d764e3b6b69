"""Wire the cockpit's HTTP side: sign-in and sessions, rate limits, security headers."""
