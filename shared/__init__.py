"""Tunedrop's logic: everything the triggers in `functions/` call."""
