"""Runs kept apart from the user's checkout: the registry on disk, detached and Ray runners."""
