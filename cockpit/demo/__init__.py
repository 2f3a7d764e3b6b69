"""Play demo mode for visiting officials: a scripted day on a synthetic street, or a past one."""
